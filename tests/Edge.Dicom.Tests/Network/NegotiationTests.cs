using Edge.Dicom.Network;

namespace Edge.Dicom.Tests.Network;

/// <summary>The presentation context policy as a table.</summary>
public class NegotiationTests
{
    [Theory]
    [InlineData(DicomUids.Verification, new[] { DicomUids.ExplicitVrLittleEndian, DicomUids.ImplicitVrLittleEndian }, 0, DicomUids.ExplicitVrLittleEndian)]
    [InlineData(DicomUids.Verification, new[] { DicomUids.Jpeg2000Lossless }, 4, null)]
    [InlineData(DicomUids.ComputedRadiographyImageStorage, new[] { "1.2.840.10008.1.2.2", DicomUids.ImplicitVrLittleEndian }, 0, DicomUids.ImplicitVrLittleEndian)]
    [InlineData(DicomUids.DigitalXRayImageStorageForPresentation, new[] { DicomUids.Jpeg2000Lossless, DicomUids.ExplicitVrLittleEndian }, 0, DicomUids.Jpeg2000Lossless)]
    [InlineData(DicomUids.DigitalXRayImageStorageForProcessing, new[] { DicomUids.RleLossless }, 0, DicomUids.RleLossless)]
    [InlineData(DicomUids.CtImageStorage, new[] { DicomUids.JpegLsLossless }, 0, DicomUids.JpegLsLossless)]
    [InlineData(DicomUids.MultiFrameTrueColorSecondaryCaptureImageStorage, new[] { DicomUids.JpegBaseline }, 0, DicomUids.JpegBaseline)]
    [InlineData(DicomUids.SecondaryCaptureImageStorage, new[] { "1.2.840.10008.1.2.1.99" }, 4, null)]
    [InlineData("1.2.840.10008.5.1.4.1.1.1.2", new[] { DicomUids.ExplicitVrLittleEndian }, 3, null)] // Digital Mammography
    [InlineData("1.2.840.10008.5.1.4.1.1.1.3", new[] { DicomUids.ExplicitVrLittleEndian }, 3, null)] // Digital Intra-oral
    public void Answer_Proposal_AcceptsPolicy(string abstractSyntax, string[] transferSyntaxes, int result, string? chosen)
    {
        var answer = Negotiation.Answer(new PresentationContextProposal(5, abstractSyntax, transferSyntaxes));

        Assert.Equal(5, answer.Id);
        Assert.Equal((PresentationContextResult)result, answer.Result);
        if (chosen is not null)
        {
            Assert.Equal(chosen, answer.TransferSyntax);
        }
    }

    [Fact]
    public void Validate_DefaultOptions_NoProblems()
    {
        Assert.Empty(new DicomScpOptions().Validate());
    }

    [Fact]
    public void Validate_BadValues_EachNamed()
    {
        var problems = new DicomScpOptions { AeTitle = "THIS_TITLE_IS_TOO_LONG", MaxPduLength = 100, ArtimTimeout = TimeSpan.Zero, MaxAssociations = 0 }.Validate();

        Assert.Contains(problems, p => p.StartsWith("AeTitle", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("MaxPduLength", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("ArtimTimeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("MaxAssociations", StringComparison.Ordinal));
    }
}
