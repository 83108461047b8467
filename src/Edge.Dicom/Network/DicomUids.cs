namespace Edge.Dicom.Network;

/// <summary>The UIDs the network service speaks, and which of them we accept (PS3.4 Annex B, PS3.5 Annex A, PS3.6 Annex A).</summary>
public static class DicomUids
{
    /// <summary>Our implementation class UID: a 2.25 root from a UUID drawn once, so it needs no registered org root.</summary>
    public const string ImplementationClassUid = "2.25.271838373085223073235262339343645991456";

    /// <summary>At most 16 characters (SH in PS3.7 D.3.3.2.4).</summary>
    public const string ImplementationVersionName = "EDGE_0";

    public const string ApplicationContext = "1.2.840.10008.3.1.1.1";

    public const string Verification = "1.2.840.10008.1.1";
    public const string ComputedRadiographyImageStorage = "1.2.840.10008.5.1.4.1.1.1";
    public const string DigitalXRayImageStorageForPresentation = "1.2.840.10008.5.1.4.1.1.1.1";
    public const string DigitalXRayImageStorageForProcessing = "1.2.840.10008.5.1.4.1.1.1.1.1";
    public const string CtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
    public const string EnhancedCtImageStorage = "1.2.840.10008.5.1.4.1.1.2.1";
    public const string SecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7";
    public const string MultiFrameSingleBitSecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7.1";
    public const string MultiFrameGrayscaleByteSecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7.2";
    public const string MultiFrameGrayscaleWordSecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7.3";
    public const string MultiFrameTrueColorSecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7.4";

    public const string ImplicitVrLittleEndian = "1.2.840.10008.1.2";
    public const string ExplicitVrLittleEndian = "1.2.840.10008.1.2.1";
    public const string JpegBaseline = "1.2.840.10008.1.2.4.50";
    public const string JpegExtended = "1.2.840.10008.1.2.4.51";
    public const string JpegLossless = "1.2.840.10008.1.2.4.57";
    public const string JpegLosslessFirstOrder = "1.2.840.10008.1.2.4.70";
    public const string JpegLsLossless = "1.2.840.10008.1.2.4.80";
    public const string JpegLsNearLossless = "1.2.840.10008.1.2.4.81";
    public const string Jpeg2000Lossless = "1.2.840.10008.1.2.4.90";
    public const string Jpeg2000 = "1.2.840.10008.1.2.4.91";
    public const string RleLossless = "1.2.840.10008.1.2.5";

    /// <summary>The image storage SOP classes a chest (or CT) screening can use; anything else is refused per context.</summary>
    public static readonly IReadOnlySet<string> StorageSopClasses = new HashSet<string>(StringComparer.Ordinal)
    {
        ComputedRadiographyImageStorage,
        DigitalXRayImageStorageForPresentation,
        DigitalXRayImageStorageForProcessing,
        CtImageStorage,
        EnhancedCtImageStorage,
        SecondaryCaptureImageStorage,
        MultiFrameSingleBitSecondaryCaptureImageStorage,
        MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
        MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        MultiFrameTrueColorSecondaryCaptureImageStorage,
    };

    /// <summary>Uncompressed little endian: all Verification needs, and what every peer can send.</summary>
    public static readonly IReadOnlySet<string> UncompressedTransferSyntaxes = new HashSet<string>(StringComparer.Ordinal)
    {
        ExplicitVrLittleEndian,
        ImplicitVrLittleEndian,
    };

    /// <summary>
    /// Storage contexts also take the compressed syntaxes GDCM decodes, so a console never has to transcode for us.
    /// Deflate and big endian are left out: the structural check and the reader would have to inflate or swap.
    /// </summary>
    public static readonly IReadOnlySet<string> StorageTransferSyntaxes = new HashSet<string>(StringComparer.Ordinal)
    {
        ExplicitVrLittleEndian,
        ImplicitVrLittleEndian,
        JpegBaseline,
        JpegExtended,
        JpegLossless,
        JpegLosslessFirstOrder,
        JpegLsLossless,
        JpegLsNearLossless,
        Jpeg2000Lossless,
        Jpeg2000,
        RleLossless,
    };
}

/// <summary>DIMSE status codes we send or expect (PS3.7 Annex C, PS3.4 B.2.3).</summary>
public static class DimseStatus
{
    public const ushort Success = 0x0000;

    /// <summary>Refused: out of resources (disk under the floor, or the object would exceed the size limit).</summary>
    public const ushort OutOfResources = 0xA700;

    /// <summary>Error: data set does not match SOP class (command's SOP class is not the context's abstract syntax).</summary>
    public const ushort DataSetDoesNotMatchSopClass = 0xA900;

    /// <summary>Error: cannot understand (the data set is not well-formed in the negotiated transfer syntax).</summary>
    public const ushort CannotUnderstand = 0xC000;

    /// <summary>Failure: processing failure (the sink could not keep the object).</summary>
    public const ushort ProcessingFailure = 0x0110;

    /// <summary>Warnings are 0001 and Bxxx: the object was stored.</summary>
    public static bool IsSuccessOrWarning(ushort status) => status == Success || status == 0x0001 || (status & 0xF000) == 0xB000;
}
