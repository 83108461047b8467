namespace Edge.Domain;

/// <summary>Where an image came from.</summary>
public enum IntakeSource
{
    File,
    WatchFolder,
    DicomStore,
}

/// <summary>An image durably in the spool, not yet screened. <see cref="Id"/> is time-ordered and unique per receipt.</summary>
public sealed record ReceivedImage(string Id, string SpoolPath, string OriginalName, IntakeSource Source, DateTimeOffset ReceivedAt);

public enum ScreeningStatus
{
    Screened,
    Rejected,
    Error,
}

public enum Referral
{
    NoRefer,
    Refer,
}

public enum ThresholdSource
{
    Bundle,
    Site,
}

/// <summary>Which model produced a score, for traceability.</summary>
public sealed record ModelIdentity(string Name, string Version, string Sha256);

/// <summary>The raw model output for one image.</summary>
public sealed record ModelOutput(double Probability, float[] Heatmap, int HeatmapWidth, int HeatmapHeight);

/// <summary>Refer / no-refer at a threshold, with where the threshold came from.</summary>
public sealed record Decision(Referral Referral, double Threshold, ThresholdSource Source);

/// <summary>
/// One image's journey through the pipeline. Each stage returns a copy with its own part filled in;
/// once <see cref="Status"/> is set the remaining compute stages pass the case through unchanged.
/// </summary>
public sealed record ScreeningCase
{
    public required ReceivedImage Received { get; init; }

    public DecodedImage? Image { get; init; }

    public QcReport? Qc { get; init; }

    /// <summary>The model input tensor, laid out as the bundle's manifest says.</summary>
    public float[]? Tensor { get; init; }

    public ModelOutput? Output { get; init; }

    public Decision? Decision { get; init; }

    public ModelIdentity? Model { get; init; }

    public string? ExecutionProvider { get; init; }

    /// <summary>Set when the case has reached its final outcome (rejected or failed) before the end of the pipeline.</summary>
    public ScreeningStatus? Status { get; init; }

    /// <summary>Technician-readable reason for an error; never holds PHI.</summary>
    public string? Error { get; init; }

    public DateTimeOffset? ScreenedAt { get; init; }

    /// <summary>Set by the record stage once the outcome is committed.</summary>
    public ScreeningResult? Result { get; init; }

    /// <summary>Milliseconds spent in each stage, in pipeline order.</summary>
    public IReadOnlyList<StageTiming> Timings { get; init; } = [];

    /// <summary>The slip's picture (the image beside where the model looked), made after the record; null without a heatmap.</summary>
    public SlipBlock.Picture? SlipPicture { get; init; }

    /// <summary>The heatmap overlay file written for this result; null when there is none.</summary>
    public string? HeatmapPath { get; init; }

    /// <summary>A CT series judged as one case: <see cref="Received"/> is its first image, and every image is recorded with it.</summary>
    public CtSeries? Series { get; init; }

    /// <summary>A CT slice handed to series assembly: it is neither screened nor recorded on its own.</summary>
    public bool HeldForSeries { get; init; }

    public bool IsSettled => Status is not null || HeldForSeries;

    public ScreeningCase Reject(QcReport qc) => this with { Qc = qc, Status = ScreeningStatus.Rejected };

    public ScreeningCase Fail(string error) => this with { Status = ScreeningStatus.Error, Error = error };

    public ScreeningCase WithTiming(string stage, double milliseconds) => this with { Timings = [.. Timings, new StageTiming(stage, milliseconds)] };
}

public sealed record StageTiming(string Stage, double Milliseconds);

/// <summary>The settled outcome of one image, as recorded and acted upon.</summary>
public sealed record ScreeningResult
{
    public required string Id { get; init; }

    public required string OriginalName { get; init; }

    public required IntakeSource Source { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    public required DateTimeOffset ScreenedAt { get; init; }

    public DateTimeOffset? AcquiredAt { get; init; }

    public required ScreeningStatus Status { get; init; }

    /// <summary>TB probability 0..1; null unless screened.</summary>
    public double? Probability { get; init; }

    public Decision? Decision { get; init; }

    public ModelIdentity? Model { get; init; }

    public string? ExecutionProvider { get; init; }

    public required QcReport Qc { get; init; }

    public string? Error { get; init; }

    public float[]? Heatmap { get; init; }

    public int HeatmapWidth { get; init; }

    public int HeatmapHeight { get; init; }

    public IReadOnlyList<StageTiming> Timings { get; init; } = [];

    public ImageHeader? Header { get; init; }

    /// <summary>The CT series this result stands for, all of its images; null for a single image.</summary>
    public CtSeries? Series { get; init; }

    /// <summary>PHI: local record, page and slip only.</summary>
    public PatientIdentity Identity { get; init; } = PatientIdentity.None;

    public static ScreeningResult From(ScreeningCase c, DateTimeOffset screenedAt)
    {
        var status = c.Status ?? ScreeningStatus.Screened;
        return new ScreeningResult
        {
            Id = c.Received.Id,
            OriginalName = c.Received.OriginalName,
            Source = c.Received.Source,
            ReceivedAt = c.Received.ReceivedAt,
            ScreenedAt = screenedAt,
            AcquiredAt = c.Image?.Header.AcquiredAt,
            Status = status,
            Probability = status == ScreeningStatus.Screened ? c.Output?.Probability : null,
            Decision = status == ScreeningStatus.Screened ? c.Decision : null,
            Model = c.Model,
            ExecutionProvider = c.ExecutionProvider,
            Qc = c.Qc ?? QcReport.NotChecked,
            Error = c.Error,
            Heatmap = status == ScreeningStatus.Screened ? c.Output?.Heatmap : null,
            HeatmapWidth = c.Output?.HeatmapWidth ?? 0,
            HeatmapHeight = c.Output?.HeatmapHeight ?? 0,
            Timings = c.Timings,
            Header = c.Image?.Header,
            Series = c.Series,
            Identity = c.Image?.Identity ?? PatientIdentity.None,
        };
    }
}
