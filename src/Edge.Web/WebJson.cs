using System.Text.Json.Serialization;

namespace Edge.Web;

public sealed record WorklistRow(
    string Id,
    string Time,
    string? ExamReference,
    string Result,
    string? Reason,
    double? Score,
    double? Threshold,
    string? AcknowledgedBy,
    string? Outcome);

public sealed record Counts(long Total, long Refer, long NoRefer, long NotScreened, long Unacknowledged);

public sealed record WorklistPage(IReadOnlyList<WorklistRow> Rows, Counts Today);

public sealed record ResultView(
    WorklistRow Row,
    string? ThresholdSource,
    IReadOnlyList<string> QcNotes,
    string? Error,
    string? ModelName,
    string? ModelVersion,
    string? ModelSha256,
    string? Provider,
    bool HasHeatmap,
    bool HasSlip,
    string? AcknowledgedAt,
    bool NeedsAcknowledgement);

public sealed record LightsView(string State, string Green, string Yellow, string Red, string Sync, string Buzzer, string Describe, IReadOnlyList<string> Faults, IReadOnlyList<string> Attentions);

public sealed record ThresholdView(double Value, string Source, string? AppliedBy, string? AppliedAt, string? Origin);

public sealed record StatusView(
    LightsView Lights,
    string Printer,
    bool PrinterOffline,
    long? DiskFreeMb,
    long? DiskTotalMb,
    int? DicomPort,
    string DicomAeTitle,
    long SyncBacklog,
    string? LastSync,
    string SyncState,
    string SyncTarget,
    string ModelName,
    string ModelVersion,
    string Provider,
    string Firmware,
    ThresholdView Threshold);

public sealed record RocView(double? Threshold, double Fpr, double Tpr);

public sealed record CalibrationView(
    int Positives,
    int Negatives,
    double TargetSensitivity,
    int MinPositives,
    int MinNegatives,
    string? Refusal,
    IReadOnlyList<RocView> Roc,
    double? Auc,
    double? Threshold,
    double? Sensitivity,
    double? SensitivityLow,
    double? SensitivityHigh,
    double? Specificity,
    double? SpecificityLow,
    double? SpecificityHigh,
    string Interval,
    ThresholdView InForce);

public sealed record InitialsRequest(string? Initials);

public sealed record OutcomeRequest(string? Outcome, string? Test, string? Initials);

public sealed record ApplyThresholdRequest(double Threshold, string? Initials);

public sealed record LoginRequest(string? Pin);

public sealed record Problem(string Error, string? Key = null);

public sealed record Done(string Outcome);

/// <summary>The part of a stored result line (results.jsonl form) the page reads back: QC reasons.</summary>
public sealed record StoredLine(StoredQc? Qc, string? Error);

public sealed record StoredQc(string? Verdict, IReadOnlyList<string>? Reasons);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(WorklistPage))]
[JsonSerializable(typeof(ResultView))]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(CalibrationView))]
[JsonSerializable(typeof(InitialsRequest))]
[JsonSerializable(typeof(OutcomeRequest))]
[JsonSerializable(typeof(ApplyThresholdRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(Done))]
[JsonSerializable(typeof(StoredLine))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
public sealed partial class WebJsonContext : JsonSerializerContext;
