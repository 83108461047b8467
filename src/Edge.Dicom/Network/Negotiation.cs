namespace Edge.Dicom.Network;

/// <summary>The presentation context policy: which services on which encodings. Pure, so a table tests it.</summary>
internal static class Negotiation
{
    /// <summary>
    /// Accepts Verification on uncompressed syntaxes and our storage SOP classes on every syntax GDCM decodes. Of the
    /// proposer's transfer syntaxes the first we support wins: the proposer lists its preference first (PS3.8 7.1.1.13),
    /// and receiving it as sent means the console never transcodes and our file holds exactly its bytes.
    /// </summary>
    public static PresentationContextAnswer Answer(PresentationContextProposal proposal)
    {
        IReadOnlySet<string>? supported = proposal.AbstractSyntax == DicomUids.Verification ? DicomUids.UncompressedTransferSyntaxes
            : DicomUids.StorageSopClasses.Contains(proposal.AbstractSyntax) ? DicomUids.StorageTransferSyntaxes
            : null;
        if (supported is null)
        {
            return new PresentationContextAnswer(proposal.Id, PresentationContextResult.AbstractSyntaxNotSupported, DicomUids.ImplicitVrLittleEndian);
        }

        foreach (var ts in proposal.TransferSyntaxes)
        {
            if (supported.Contains(ts))
            {
                return new PresentationContextAnswer(proposal.Id, PresentationContextResult.Acceptance, ts);
            }
        }

        return new PresentationContextAnswer(proposal.Id, PresentationContextResult.TransferSyntaxesNotSupported, DicomUids.ImplicitVrLittleEndian);
    }
}
