using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Collector;

// What the appliances publish (src/Edge.Appliance/ResultJson.cs SyncPayload, src/Edge.Sync DeviceStatusMessage).
// Every field is optional here so that a missing one is reported by name instead of failing the whole parse; unknown
// fields are ignored, so newer firmware can add some without breaking older collectors.
public sealed record WireModel(string? Name, string? Version, string? Sha256);

public sealed record WireSubject(string? PseudoId, string? AgeBand, string? Sex);

public sealed record WireResult(
    string? Id,
    string? Site,
    string? Device,
    DateTimeOffset? AcquiredAt,
    DateTimeOffset? ScreenedAt,
    string? Status,
    double? Score,
    string? Decision,
    double? Threshold,
    WireModel? Model,
    List<string>? Qc,
    WireSubject? Subject,
    bool? Historical);

public sealed record WireStatus(string? State, string? Site, string? Device, string? Firmware, string? ModelName, string? ModelVersion, string? Provider, long? Backlog, DateTimeOffset? At);

/// <summary>One result as stored: the dedupe key is <see cref="Id"/>; the day is the UTC date of screening.</summary>
public sealed record ResultRecord(
    string Id,
    string Site,
    string Device,
    DateTimeOffset? AcquiredAt,
    DateTimeOffset ScreenedAt,
    string Status,
    double? Score,
    string? Decision,
    double? Threshold,
    string? ModelName,
    string? ModelVersion,
    string? ModelSha256,
    string QcJson,
    string? PseudoId,
    string? AgeBand,
    string? Sex,
    bool Historical,
    DateTimeOffset ReceivedAt)
{
    public string Day => ScreenedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

/// <summary>The latest retained status of a device (birth or will).</summary>
public sealed record StatusRecord(string Site, string Device, string State, string? Firmware, string? ModelName, string? ModelVersion, string? Provider, long? Backlog, DateTimeOffset At);

/// <summary>A stats or drift document, kept as received, one per device, kind and day (the newest wins).</summary>
public sealed record ReportRecord(string Kind, string Site, string Device, string Day, string Json, DateTimeOffset ReceivedAt);

/// <summary>A message that could not be taken as what its topic says: kept with the reason, never dropped silently.</summary>
public sealed record UnreadableRecord(string Topic, string Payload, string Reason, DateTimeOffset ReceivedAt);

/// <summary>When a device was last heard from, by any message.</summary>
public sealed record SeenRecord(string Site, string Device, DateTimeOffset At);

/// <summary>What one transaction writes: built by <see cref="Build"/> so no key repeats within it.</summary>
public sealed class IngestBatch
{
    public List<ResultRecord> Results { get; } = [];

    public List<StatusRecord> Statuses { get; } = [];

    public List<ReportRecord> Reports { get; } = [];

    public List<UnreadableRecord> Unreadable { get; } = [];

    public List<SeenRecord> Seen { get; } = [];

    public int Count => Results.Count + Statuses.Count + Reports.Count + Unreadable.Count;

    /// <summary>
    /// Parses each message and folds repeats: a result id once (the first), a device's status once (the newest), a
    /// report once per key (the last received), a device's last-seen time once (the latest). PostgreSQL refuses an
    /// upsert that touches one row twice in a statement, and the outcome is the same as writing them one by one.
    /// </summary>
    public static IngestBatch Build(IEnumerable<IncomingMessage> messages, string topicRoot)
    {
        var batch = new IngestBatch();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var statuses = new Dictionary<(string, string), StatusRecord>();
        var reports = new Dictionary<(string, string, string, string), ReportRecord>();
        var seen = new Dictionary<(string, string), DateTimeOffset>();
        foreach (var message in messages)
        {
            var parsed = MessageParser.Parse(message, topicRoot);
            switch (parsed)
            {
                case ResultRecord result:
                    if (ids.Add(result.Id))
                    {
                        batch.Results.Add(result);
                    }

                    Seen(result.Site, result.Device, message.ReceivedAt);
                    break;
                case StatusRecord status:
                    if (!statuses.TryGetValue((status.Site, status.Device), out var known) || status.At >= known.At)
                    {
                        statuses[(status.Site, status.Device)] = status;
                    }

                    Seen(status.Site, status.Device, message.ReceivedAt);
                    break;
                case ReportRecord report:
                    reports[(report.Kind, report.Site, report.Device, report.Day)] = report;
                    Seen(report.Site, report.Device, message.ReceivedAt);
                    break;
                case UnreadableRecord unreadable:
                    batch.Unreadable.Add(unreadable);
                    break;
            }
        }

        batch.Statuses.AddRange(statuses.Values);
        batch.Reports.AddRange(reports.Values);
        batch.Seen.AddRange(seen.Select(s => new SeenRecord(s.Key.Item1, s.Key.Item2, s.Value)));
        return batch;

        void Seen(string site, string device, DateTimeOffset at)
        {
            if (!seen.TryGetValue((site, device), out var last) || at > last)
            {
                seen[(site, device)] = at;
            }
        }
    }
}

/// <summary>A message as it came off the broker, before parsing.</summary>
public sealed record IncomingMessage(string Topic, byte[] Payload, DateTimeOffset ReceivedAt);

/// <summary>Turns a topic and payload into a record, or an <see cref="UnreadableRecord"/> that says why not. Pure.</summary>
public static class MessageParser
{
    public static readonly string[] AgeBands = ["0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+"];

    public static object Parse(IncomingMessage message, string topicRoot)
    {
        var payload = Encoding.UTF8.GetString(message.Payload);
        UnreadableRecord Unreadable(string reason) => new(message.Topic, payload, reason, message.ReceivedAt);

        if (!message.Topic.StartsWith(topicRoot + "/", StringComparison.Ordinal))
        {
            return Unreadable("topic outside the root");
        }

        var levels = message.Topic[(topicRoot.Length + 1)..].Split('/');
        if (levels.Length != 3 || levels.Any(string.IsNullOrEmpty))
        {
            return Unreadable("topic is not {root}/{site}/{device}/{kind}");
        }

        var (site, device, kind) = (levels[0], levels[1], levels[2]);
        try
        {
            return kind switch
            {
                "result" => ParseResult(payload, site, device, message.ReceivedAt) switch
                {
                    ({ } result, _) => result,
                    (_, var problem) => Unreadable(problem ?? "unreadable"),
                },
                "status" => ParseStatus(message.Topic, payload, site, device, message.ReceivedAt),
                "stats" or "drift" => ParseReport(kind, payload, site, device, message.ReceivedAt),
                _ => Unreadable($"unknown message kind '{kind}'"),
            };
        }
        catch (JsonException ex)
        {
            return Unreadable("not valid JSON: " + ex.Message);
        }
    }

    private static (ResultRecord? Result, string? Problem) ParseResult(string payload, string site, string device, DateTimeOffset receivedAt)
    {
        var wire = JsonSerializer.Deserialize(payload, CollectorJsonContext.Default.WireResult);
        if (wire is null)
        {
            return (null, "result is null");
        }

        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(wire.Id))
        {
            problems.Add("id missing");
        }

        if ((wire.Site is not null && wire.Site != site) || (wire.Device is not null && wire.Device != device))
        {
            // The broker's ACL ties a device to its own topics; a payload naming another is not taken at its word.
            problems.Add("site/device differ from the topic");
        }

        if (wire.ScreenedAt is null)
        {
            problems.Add("screenedAt missing");
        }

        if (wire.Status is not ("screened" or "rejected" or "error"))
        {
            problems.Add($"status '{wire.Status}' unknown");
        }

        if (wire.Decision is not (null or "refer" or "no-refer"))
        {
            problems.Add($"decision '{wire.Decision}' unknown");
        }

        if (wire.Score is < 0 or > 100 || wire.Threshold is < 0 or > 100)
        {
            problems.Add("score or threshold outside 0-100");
        }

        if (wire.Subject?.AgeBand is { } band && !AgeBands.Contains(band))
        {
            problems.Add($"ageBand '{band}' is not a DHIS2 TB band");
        }

        if (wire.Subject?.Sex is not (null or "M" or "F" or "O"))
        {
            problems.Add($"sex '{wire.Subject.Sex}' unknown");
        }

        if (problems.Count > 0)
        {
            return (null, string.Join("; ", problems));
        }

        return (new ResultRecord(
            wire.Id!,
            site,
            device,
            wire.AcquiredAt,
            wire.ScreenedAt!.Value,
            wire.Status!,
            wire.Score,
            wire.Decision,
            wire.Threshold,
            wire.Model?.Name,
            wire.Model?.Version,
            wire.Model?.Sha256,
            JsonSerializer.Serialize(wire.Qc ?? [], CollectorJsonContext.Default.ListString),
            wire.Subject?.PseudoId,
            wire.Subject?.AgeBand,
            wire.Subject?.Sex,
            wire.Historical ?? false,
            receivedAt), null);
    }

    private static object ParseStatus(string topic, string payload, string site, string device, DateTimeOffset receivedAt)
    {
        var trimmed = payload.Trim();
        if (!trimmed.StartsWith('{'))
        {
            // A bare word (e.g. a will of "offline" from other firmware).
            return new StatusRecord(site, device, trimmed.Trim('"'), null, null, null, null, null, receivedAt);
        }

        var wire = JsonSerializer.Deserialize(payload, CollectorJsonContext.Default.WireStatus);
        if (wire?.State is null)
        {
            return new UnreadableRecord(topic, payload, "status without state", receivedAt);
        }

        return new StatusRecord(site, device, wire.State, wire.Firmware, wire.ModelName, wire.ModelVersion, wire.Provider, wire.Backlog, wire.At ?? receivedAt);
    }

    private static ReportRecord ParseReport(string kind, string payload, string site, string device, DateTimeOffset receivedAt)
    {
        // Stored as received; only the day it is about is read, from "day" or "date" when the document has one.
        using var json = JsonDocument.Parse(payload);
        var day = receivedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (json.RootElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in new[] { "day", "date" })
            {
                if (json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                    && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    day = parsed.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                    break;
                }
            }
        }

        return new ReportRecord(kind, site, device, day, payload, receivedAt);
    }
}
