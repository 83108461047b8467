namespace Edge.Dicom.Results;

/// <summary>A coded concept (Code Sequence Macro, PS3.3 Table 8.8-1).</summary>
internal sealed record CodedConcept(string Value, string Scheme, string Meaning)
{
    public DicomDataSet ToItem() => new DicomDataSet()
        .Text(DicomTags.CodeValue, "SH", Value)
        .Text(DicomTags.CodingSchemeDesignator, "SH", Scheme)
        .Text(DicomTags.CodeMeaning, "LO", Meaning);
}

/// <summary>
/// The codes of our SR. Standard ones (DCM, SCT, UCUM) where one exists; the rest under the private scheme
/// <see cref="PrivateScheme"/> (a "99" prefix is reserved for local schemes, PS3.3 8.2.1), declared in the Coding
/// Scheme Identification Sequence of every SR and listed in docs/dicom-conformance.md.
/// </summary>
internal static class ResultCodes
{
    public const string PrivateScheme = "99EDGE";

    // Document structure (DCM, PS3.16 Annex D).
    public static readonly CodedConcept ImagingMeasurementReport = new("126000", "DCM", "Imaging Measurement Report");
    public static readonly CodedConcept LanguageOfContent = new("121049", "DCM", "Language of Content Item and Descendants");
    public static readonly CodedConcept ObserverType = new("121005", "DCM", "Observer Type");
    public static readonly CodedConcept Device = new("121007", "DCM", "Device");
    public static readonly CodedConcept DeviceObserverUid = new("121012", "DCM", "Device Observer UID");
    public static readonly CodedConcept DeviceObserverName = new("121013", "DCM", "Device Observer Name");
    public static readonly CodedConcept DeviceObserverManufacturer = new("121014", "DCM", "Device Observer Manufacturer");
    public static readonly CodedConcept DeviceObserverModelName = new("121015", "DCM", "Device Observer Model Name");
    public static readonly CodedConcept DeviceObserverLocation = new("121017", "DCM", "Device Observer Physical Location During Observation");
    public static readonly CodedConcept ProcedureReported = new("121058", "DCM", "Procedure reported");
    public static readonly CodedConcept ImageLibrary = new("111028", "DCM", "Image Library");
    public static readonly CodedConcept ImagingMeasurements = new("126010", "DCM", "Imaging Measurements");
    public static readonly CodedConcept MeasurementGroup = new("125007", "DCM", "Measurement Group");
    public static readonly CodedConcept TrackingIdentifier = new("112039", "DCM", "Tracking Identifier");
    public static readonly CodedConcept TrackingUniqueIdentifier = new("112040", "DCM", "Tracking Unique Identifier");
    public static readonly CodedConcept SourceOfMeasurement = new("121112", "DCM", "Source of Measurement");
    public static readonly CodedConcept AlgorithmName = new("111001", "DCM", "Algorithm Name");
    public static readonly CodedConcept AlgorithmVersion = new("111003", "DCM", "Algorithm Version");
    public static readonly CodedConcept AlgorithmParameters = new("111002", "DCM", "Algorithm Parameters");
    public static readonly CodedConcept Summary = new("121111", "DCM", "Summary");
    public static readonly CodedConcept Comment = new("121106", "DCM", "Comment");
    public static readonly CodedConcept SourceImageForProcessing = new("121322", "DCM", "Source image for image processing operation");

    // Clinical concepts (SNOMED CT).
    public static readonly CodedConcept PlainChestXRay = new("399208008", "SCT", "Plain chest X-ray");

    // Units (UCUM): the score is the model's TB probability on the 0-100 scale used on the slip and in synced results.
    public static readonly CodedConcept ScoreUnits = new("{score}", "UCUM", "score");

    // Private concepts: no standard code says "AI TB score", "refer for TB test" or a model's hash.
    public static readonly CodedConcept TbScore = new("EDGE-0001", PrivateScheme, "TB AI score");
    public static readonly CodedConcept TriageDecision = new("EDGE-0002", PrivateScheme, "TB triage decision");
    public static readonly CodedConcept ReferForTbTest = new("EDGE-0003", PrivateScheme, "Refer for TB test");
    public static readonly CodedConcept NoReferral = new("EDGE-0004", PrivateScheme, "No referral for TB test");
    public static readonly CodedConcept ReferralThreshold = new("EDGE-0005", PrivateScheme, "TB referral threshold");
    public static readonly CodedConcept ThresholdSource = new("EDGE-0006", PrivateScheme, "Threshold source");
    public static readonly CodedConcept ModelSha256 = new("EDGE-0007", PrivateScheme, "Model SHA-256");
    public static readonly CodedConcept ExecutionProvider = new("EDGE-0008", PrivateScheme, "Inference execution provider");
    public static readonly CodedConcept QualityVerdict = new("EDGE-0009", PrivateScheme, "Image quality check verdict");
    public static readonly CodedConcept QualityPass = new("EDGE-0010", PrivateScheme, "Quality check passed");
    public static readonly CodedConcept QualityWarn = new("EDGE-0011", PrivateScheme, "Quality check passed with warnings");
    public static readonly CodedConcept QualityReject = new("EDGE-0012", PrivateScheme, "Quality check rejected");
    public static readonly CodedConcept QualityFinding = new("EDGE-0013", PrivateScheme, "Image quality finding");
    public static readonly CodedConcept IntendedUse = new("EDGE-0014", PrivateScheme, "Intended use statement");

    /// <summary>RFC 5646 language tags as codes (CID 5000).</summary>
    public static CodedConcept Language(string tag) => tag switch
    {
        DicomResultOptions.SimplifiedChinese => new("zh-CN", "RFC5646", "Chinese (China)"),
        _ => new("en", "RFC5646", "English"),
    };

    /// <summary>Coding Scheme Identification Sequence item for our private scheme (PS3.3 C.12.1.1.4).</summary>
    public static DicomDataSet PrivateSchemeIdentification() => new DicomDataSet()
        .Text(DicomTags.CodingSchemeDesignator, "SH", PrivateScheme)
        .Text(DicomTags.CodingSchemeName, "ST", "Edge TB triage appliance concepts")
        .Text(DicomTags.CodingSchemeResponsibleOrganization, "ST", "Edge project (see docs/dicom-conformance.md)");
}
