using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Domain;
using Edge.Sync;

namespace Edge.Appliance;

public sealed record ModelRef(string Name, string Version, string Sha256)
{
    public static ModelRef? Of(ModelIdentity? model) => model is null ? null : new(model.Name, model.Version, model.Sha256);
}

/// <summary>A result that stands for a whole series: its modality and the record ids of all its images (the record finds them here after a restart).</summary>
public sealed record SeriesLine(string Modality, int Images, IReadOnlyList<string> ImageIds);

public sealed record QcLine(string Verdict, IReadOnlyList<string> Reasons, IReadOnlyList<string> Codes);

/// <summary>One result as <c>screen --format jsonl</c> and <c>results.jsonl</c> print it. Score and threshold on the 0-100 scale technicians see.</summary>
public sealed record ResultLine(
    string File,
    string Id,
    string Status,
    double? Score,
    string? Decision,
    double? Threshold,
    string? ThresholdSource,
    ModelRef? Model,
    string? Provider,
    QcLine Qc,
    string? Heatmap,
    IReadOnlyDictionary<string, double> Timings,
    string? Error,
    DateTimeOffset ReceivedAt,
    DateTimeOffset ScreenedAt,
    SeriesLine? Series = null)
{
    public static ResultLine From(ScreeningResult result, string? heatmapPath) => new(
        result.OriginalName,
        result.Id,
        Words.Status(result.Status),
        Words.Percent(result.Probability),
        Words.Referral(result.Decision),
        Words.Percent(result.Decision?.Threshold),
        result.Decision?.Source.ToString().ToLowerInvariant(),
        ModelRef.Of(result.Model),
        result.ExecutionProvider,
        new QcLine(result.Qc.Verdict.ToString().ToLowerInvariant(), [.. result.Qc.Reasons], [.. result.Qc.Findings.Select(f => f.Code)]),
        heatmapPath,
        result.Timings.ToDictionary(t => t.Stage, t => Math.Round(t.Milliseconds, 3)),
        result.Error,
        result.ReceivedAt,
        result.ScreenedAt,
        result.Series is { } series ? new SeriesLine("CT", series.Images.Count, [.. series.Images.Select(i => i.Id)]) : null);

    public string ToJson() => JsonSerializer.Serialize(this, ApplianceJsonContext.Default.ResultLine);
}

/// <summary>
/// What leaves the device for the provincial programme: de-identified by construction. It is built from the result's
/// fields one by one, never from the image header, so no name, patient ID, birth date, accession or free text can slip in.
/// The patient appears only as <see cref="SyncSubject.PseudoId"/>, a keyed hash. The wire contract is docs/sync-protocol.md.
/// </summary>
public sealed record SyncPayload(
    string Id,
    string Site,
    string Device,
    DateTimeOffset? AcquiredAt,
    DateTimeOffset ScreenedAt,
    string Status,
    double? Score,
    string? Decision,
    double? Threshold,
    ModelRef? Model,
    IReadOnlyList<string> Qc,
    SyncSubject Subject,
    bool Historical)
{
    /// <param name="pseudonym">The site's key for <c>subject.pseudoId</c>; null: no pseudonym is sent.</param>
    public static SyncPayload From(ScreeningResult result, string site, string device, PatientPseudonym? pseudonym) => new(
        result.Id,
        site,
        device,
        result.AcquiredAt,
        result.ScreenedAt,
        Words.Status(result.Status),
        Words.Percent(result.Probability),
        Words.Referral(result.Decision),
        Words.Percent(result.Decision?.Threshold),
        ModelRef.Of(result.Model),
        [.. result.Qc.Findings.Select(f => f.Code)],
        new SyncSubject(pseudonym?.Of(result.Identity.PatientId), AgeBand(result.Header?.AgeYears), result.Header?.Sex is "M" or "F" or "O" ? result.Header.Sex : null),
        Historical: false);

    public string ToJson() => JsonSerializer.Serialize(this, ApplianceJsonContext.Default.SyncPayload);

    /// <summary>Reads a payload this firmware wrote (a replay starts from the message first sent).</summary>
    public static SyncPayload? FromJson(string json) => JsonSerializer.Deserialize(json, ApplianceJsonContext.Default.SyncPayload);

    /// <summary>DHIS2's TB age bands.</summary>
    public static string? AgeBand(int? years) => years switch
    {
        null => null,
        < 5 => "0-4",
        < 15 => "5-14",
        < 25 => "15-24",
        < 35 => "25-34",
        < 45 => "35-44",
        < 55 => "45-54",
        < 65 => "55-64",
        _ => "65+",
    };
}

/// <summary>Who was screened, as far as the programme may know: a keyed pseudonym, an age band and a sex.</summary>
public sealed record SyncSubject(string? PseudoId, string? AgeBand, string? Sex);

public static class Words
{
    public static string Status(ScreeningStatus status) => status switch
    {
        ScreeningStatus.Screened => "screened",
        ScreeningStatus.Rejected => "rejected",
        _ => "error",
    };

    public static string? Referral(Decision? decision) => decision is null ? null : decision.Referral == Domain.Referral.Refer ? "refer" : "no-refer";

    /// <summary>Probabilities and thresholds as people see them: 0-100, three decimals.</summary>
    public static double? Percent(double? probability) => probability is { } p ? Math.Round(p * 100, 3) : null;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ResultLine))]
[JsonSerializable(typeof(SyncPayload))]
internal sealed partial class ApplianceJsonContext : JsonSerializerContext;
