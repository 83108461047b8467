using Edge.Domain;

namespace Edge.Dicom.Results;

/// <summary>What the result objects say about one screened image: the facts of a <see cref="ScreeningResult"/>, nothing about the patient.</summary>
public sealed record ScreeningReport
{
    public required string ResultId { get; init; }

    /// <summary>TB probability 0..1, shown as a 0-100 score like everywhere else.</summary>
    public required double Probability { get; init; }

    public required Decision Decision { get; init; }

    public required ModelIdentity Model { get; init; }

    public required QcReport Qc { get; init; }

    public required DateTimeOffset ScreenedAt { get; init; }

    /// <summary>TensorRT, Cuda, Cpu...; null when unknown.</summary>
    public string? ExecutionProvider { get; init; }

    /// <summary>The report of a screened result; null for rejected or failed ones, which get no result objects (nothing was scored).</summary>
    public static ScreeningReport? From(ScreeningResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result is not { Status: ScreeningStatus.Screened, Probability: { } probability, Decision: { } decision, Model: { } model })
        {
            return null;
        }

        return new ScreeningReport
        {
            ResultId = result.Id,
            Probability = probability,
            Decision = decision,
            Model = model,
            Qc = result.Qc,
            ScreenedAt = result.ScreenedAt,
            ExecutionProvider = result.ExecutionProvider,
        };
    }
}

/// <summary>Who writes the result objects, and in which language. Validated when the writer is made.</summary>
public sealed class DicomResultOptions
{
    public const string English = "en";
    public const string SimplifiedChinese = "zh-CN";

    /// <summary>Manufacturer (0008,0070) of our objects: the product, institution-neutral.</summary>
    public string Manufacturer { get; set; } = "Edge";

    /// <summary>Software Versions (0018,1020): the appliance's version.</summary>
    public string SoftwareVersion { get; set; } = "0.0.0";

    public string SiteId { get; set; } = string.Empty;

    public string DeviceId { get; set; } = string.Empty;

    /// <summary><see cref="English"/> or <see cref="SimplifiedChinese"/>: the language of the SR's free text (and the SC's, where the font has it).</summary>
    public string Language { get; set; } = English;

    /// <summary>Content Date/Time are written in this zone with Timezone Offset From UTC, as the console's own clock would.</summary>
    public TimeZoneInfo TimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>Every problem, each naming its option; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Manufacturer) || Manufacturer.Length > 64)
        {
            problems.Add($"{nameof(Manufacturer)} must be 1 to 64 characters.");
        }

        if (string.IsNullOrWhiteSpace(SoftwareVersion) || SoftwareVersion.Length > 64)
        {
            problems.Add($"{nameof(SoftwareVersion)} must be 1 to 64 characters.");
        }

        if (string.IsNullOrWhiteSpace(SiteId) || SiteId.Length > 64)
        {
            problems.Add($"{nameof(SiteId)} must be 1 to 64 characters.");
        }

        if (string.IsNullOrWhiteSpace(DeviceId) || DeviceId.Length > 64)
        {
            problems.Add($"{nameof(DeviceId)} must be 1 to 64 characters.");
        }

        if (Language is not (English or SimplifiedChinese))
        {
            problems.Add($"{nameof(Language)} must be '{English}' or '{SimplifiedChinese}'.");
        }

        return problems;
    }
}

/// <summary>The two objects written for one screened image.</summary>
public sealed record DicomResultFiles(
    string StructuredReportPath,
    string SecondaryCapturePath,
    string StudyInstanceUid,
    string StructuredReportSopInstanceUid,
    string SecondaryCaptureSopInstanceUid);

/// <summary>The result objects' single failure type: the source cannot be joined to, or the files cannot be written. Messages hold no patient data.</summary>
public sealed class DicomResultException : Exception
{
    public DicomResultException(string message)
        : base(message)
    {
    }

    public DicomResultException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
