using System.Text.Json;

namespace Edge.Collector;

/// <summary>What the dashboard shows per device: when it was last heard from, what it runs, its backlog, and drift flags.</summary>
public sealed record DeviceHealth(
    string Site,
    string Device,
    DateTimeOffset? LastSeen,
    string State,
    string? Firmware,
    string? ModelName,
    string? ModelVersion,
    string? Provider,
    long? Backlog,
    string? StatsDay,
    string? DriftDay,
    IReadOnlyList<string> DriftFlags)
{
    /// <summary>
    /// The drift document's format belongs to the appliance; the collector reads only what a flag looks like in it: a
    /// top-level <c>flags</c> array of strings, or top-level booleans that are true and named <c>...drift...</c>,
    /// <c>flagged</c> or <c>alert</c>. A document it cannot read gives no flag; the raw document stays stored.
    /// </summary>
    public static DeviceHealth From(DeviceRow row) => new(
        row.Site,
        row.Device,
        row.LastSeen,
        row.State ?? "unknown",
        row.Firmware,
        row.ModelName,
        row.ModelVersion,
        row.Provider,
        row.Backlog,
        row.StatsDay,
        row.DriftDay,
        DriftFlagsOf(row.DriftJson));

    /// <summary>
    /// As <see cref="From(DeviceRow)"/>, plus the collector's own flags: the device's newest drift summary judged against
    /// its earlier ones (<paramref name="driftNewestFirst"/>, newest day first) by <see cref="DriftRules"/>.
    /// </summary>
    public static DeviceHealth From(DeviceRow row, IReadOnlyList<string> driftNewestFirst, DriftFlagOptions options)
    {
        var health = From(row);
        var derived = DriftRules.FlagsOfHistory(driftNewestFirst, options);
        return derived.Count == 0 ? health : health with { DriftFlags = [.. health.DriftFlags, .. derived] };
    }

    public static IReadOnlyList<string> DriftFlagsOf(string? driftJson)
    {
        if (string.IsNullOrWhiteSpace(driftJson))
        {
            return [];
        }

        try
        {
            using var json = JsonDocument.Parse(driftJson);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return [];
            }

            var flags = new List<string>();
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.NameEquals("flags") && property.Value.ValueKind == JsonValueKind.Array)
                {
                    flags.AddRange(property.Value.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!));
                }
                else if (property.Value.ValueKind == JsonValueKind.True
                    && (property.Name.Contains("drift", StringComparison.OrdinalIgnoreCase) || property.Name is "flagged" or "alert"))
                {
                    flags.Add(property.Name);
                }
            }

            return flags;
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
