namespace Edge.Collector;

/// <summary>Results of one site, day, disaggregation and outcome, counted: what every indicator is computed from.</summary>
public sealed record DailyCount(string Site, string Day, string? AgeBand, string? Sex, string Status, string? Decision, long Count);

/// <summary>A device as the store knows it: last heard from, its latest status, and its newest stats and drift documents.</summary>
public sealed record DeviceRow(
    string Site,
    string Device,
    DateTimeOffset? LastSeen,
    string? State,
    string? Firmware,
    string? ModelName,
    string? ModelVersion,
    string? Provider,
    long? Backlog,
    DateTimeOffset? StatusAt,
    string? StatsDay,
    string? StatsJson,
    string? DriftDay,
    string? DriftJson);

/// <summary>One stored stats or drift document of a device and day.</summary>
public sealed record DeviceReport(string Site, string Device, string Day, string Payload);

/// <summary>The results of one device and day that carried one threshold with one model version.</summary>
public sealed record ThresholdSpan(string Site, string Device, string Day, double Threshold, string? ModelVersion, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>How many messages a committed batch added and how many it found already there.</summary>
public sealed record WriteOutcome(int Inserted, int Duplicates, int Unreadable);

public sealed record StoreTotals(long Results, long Unreadable);

/// <summary>
/// Where the collector keeps what it receives. <see cref="WriteAsync"/> commits a whole batch or nothing, and is
/// idempotent: a result whose id is already stored is left as it is, so redelivered messages count once.
/// </summary>
public interface ICollectorStore : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    string Kind { get; }

    Task MigrateAsync(CancellationToken cancellationToken);

    Task<WriteOutcome> WriteAsync(IngestBatch batch, CancellationToken cancellationToken);

    /// <summary>Counts for days <paramref name="from"/> to <paramref name="to"/> (inclusive, UTC dates), one site or all.</summary>
    Task<IReadOnlyList<DailyCount>> DailyCountsAsync(string? site, DateOnly from, DateOnly to, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeviceRow>> DevicesAsync(CancellationToken cancellationToken);

    /// <summary>Each device's newest <paramref name="perDevice"/> documents of <paramref name="kind"/>, newest day first.</summary>
    Task<IReadOnlyList<DeviceReport>> RecentReportsAsync(string kind, int perDevice, CancellationToken cancellationToken);

    Task<IReadOnlyList<ThresholdSpan>> ThresholdSpansAsync(string? site, CancellationToken cancellationToken);

    Task<StoreTotals> TotalsAsync(CancellationToken cancellationToken);
}
