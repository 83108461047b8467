using System.Text;
using Edge.TestSupport;

namespace Edge.Collector.Tests;

/// <summary>What every store must do, run against SQLite and PostgreSQL alike.</summary>
public static class StoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    public static IncomingMessage Result(string id, string site = "s1", string device = "d1", string status = "screened", string? decision = "refer", double threshold = 40, int day = 0, string? ageBand = "25-34", string? sex = "F") =>
        new($"tb/v1/{site}/{device}/result", Encoding.UTF8.GetBytes($$"""
            {"id":"{{id}}","site":"{{site}}","device":"{{device}}","screenedAt":"{{T0.AddDays(day):O}}","status":"{{status}}","score":50,
             "decision":{{(decision is null ? "null" : $"\"{decision}\"")}},"threshold":{{threshold}},"qc":[],
             "subject":{"ageBand":{{(ageBand is null ? "null" : $"\"{ageBand}\"")}},"sex":{{(sex is null ? "null" : $"\"{sex}\"")}} } }
            """), T0.AddDays(day));

    public static IncomingMessage Raw(string topic, string json, int minutes = 0) => new(topic, Encoding.UTF8.GetBytes(json), T0.AddMinutes(minutes));

    public static async Task Write_RedeliveredIds_StoredOnceAsync(ICollectorStore store)
    {
        await store.MigrateAsync(CancellationToken.None);
        await store.MigrateAsync(CancellationToken.None);

        var first = await store.WriteAsync(IngestBatch.Build([Result("a"), Result("b"), Result("a")], "tb/v1"), CancellationToken.None);
        var second = await store.WriteAsync(IngestBatch.Build([Result("b"), Result("c", status: "rejected", decision: null)], "tb/v1"), CancellationToken.None);

        Assert.Equal((2, 0), (first.Inserted, first.Duplicates));
        Assert.Equal((1, 1), (second.Inserted, second.Duplicates));
        Assert.Equal(new StoreTotals(3, 0), await store.TotalsAsync(CancellationToken.None));
        var counts = await store.DailyCountsAsync(null, new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 1), CancellationToken.None);
        Assert.Equal(2, counts.Single(c => c.Status == "screened").Count);
        Assert.Equal(1, counts.Single(c => c.Status == "rejected").Count);
        Assert.Empty(await store.DailyCountsAsync("other-site", new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 1), CancellationToken.None));
    }

    public static async Task Write_StatusesReportsAndUnreadable_DeviceHealthAsync(ICollectorStore store)
    {
        await store.MigrateAsync(CancellationToken.None);
        await store.WriteAsync(IngestBatch.Build(
        [
            Raw("tb/v1/s1/d1/status", """{"state":"online","firmware":"0.3.0","modelName":"tb-cxr","modelVersion":"1.1.0","provider":"Cpu","backlog":4,"at":"2026-12-01T09:00:00Z"}""", 60),
            Raw("tb/v1/s1/d1/drift", """{"day":"2026-11-30","flags":["old"]}"""),
            Raw("tb/v1/s1/d1/drift", """{"day":"2026-12-01","flags":["score-shift"]}"""),
            Raw("tb/v1/s1/d1/stats", """{"day":"2026-12-01","screened":3}"""),
            Raw("tb/v1/s1/d1/result", "{broken"),
        ], "tb/v1"), CancellationToken.None);

        // An older status arriving later (a stale retained message) does not overwrite the newer one.
        await store.WriteAsync(IngestBatch.Build([Raw("tb/v1/s1/d1/status", """{"state":"offline","at":"2026-12-01T08:00:00Z"}""", 120)], "tb/v1"), CancellationToken.None);

        var device = DeviceHealth.From(Assert.Single(await store.DevicesAsync(CancellationToken.None)));
        Assert.Equal(("online", "0.3.0", "1.1.0", 4L), (device.State, device.Firmware, device.ModelVersion, device.Backlog!.Value));
        Assert.Equal(("2026-12-01", "2026-12-01"), (device.DriftDay, device.StatsDay));
        Assert.Equal(["score-shift"], device.DriftFlags);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), device.LastSeen);
        Assert.Equal(new StoreTotals(0, 1), await store.TotalsAsync(CancellationToken.None));

        // The drift history the collector's own flags are judged on: per device, newest day first, at most as many as asked.
        await store.WriteAsync(IngestBatch.Build([Raw("tb/v1/s1/d1/drift", """{"day":"2026-11-29"}"""), Raw("tb/v1/s2/d9/drift", """{"day":"2026-11-01"}""")], "tb/v1"), CancellationToken.None);
        var recent = await store.RecentReportsAsync("drift", 2, CancellationToken.None);
        Assert.Equal(["s1/d1/2026-12-01", "s1/d1/2026-11-30", "s2/d9/2026-11-01"], recent.Select(r => $"{r.Site}/{r.Device}/{r.Day}"));
        Assert.Contains("score-shift", recent[0].Payload, StringComparison.Ordinal);
        Assert.Equal(["s1/d1/2026-12-01"], (await store.RecentReportsAsync("stats", 5, CancellationToken.None)).Select(r => $"{r.Site}/{r.Device}/{r.Day}"));
    }

    public static async Task ThresholdSpans_ThresholdChanged_ChangeFoundAsync(ICollectorStore store)
    {
        await store.MigrateAsync(CancellationToken.None);
        await store.WriteAsync(IngestBatch.Build([Result("a", threshold: 40), Result("b", threshold: 40, day: 1), Result("c", threshold: 35, day: 2), Result("d", device: "d2", threshold: 50)], "tb/v1"), CancellationToken.None);

        var changes = Indicators.ThresholdChanges(await store.ThresholdSpansAsync("s1", CancellationToken.None));

        Assert.Equal(["d1:40->35", "d1:->40", "d2:->50"], changes.OrderByDescending(c => c.At).ThenBy(c => c.Device).Select(c => $"{c.Device}:{c.From}->{c.To}"));
    }
}

public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-collector-sqlite");

    [Fact]
    public async Task Write_RedeliveredIds_StoredOnce()
    {
        await using var store = new SqliteCollectorStore(_temp.Combine("c.db"));
        await StoreContract.Write_RedeliveredIds_StoredOnceAsync(store);
    }

    [Fact]
    public async Task Write_StatusesReportsAndUnreadable_DeviceHealth()
    {
        await using var store = new SqliteCollectorStore(_temp.Combine("c.db"));
        await StoreContract.Write_StatusesReportsAndUnreadable_DeviceHealthAsync(store);
    }

    [Fact]
    public async Task ThresholdSpans_ThresholdChanged_ChangeFound()
    {
        await using var store = new SqliteCollectorStore(_temp.Combine("c.db"));
        await StoreContract.ThresholdSpans_ThresholdChanged_ChangeFoundAsync(store);
    }

    public void Dispose() => _temp.Dispose();
}

[Collection("postgres")]
public sealed class PostgresStoreTests(PostgresFixture postgres)
{
    [PostgresFact]
    public async Task Write_RedeliveredIds_StoredOnce()
    {
        await using var store = new PostgresCollectorStore(await postgres.NewDatabaseAsync());
        await StoreContract.Write_RedeliveredIds_StoredOnceAsync(store);
    }

    [PostgresFact]
    public async Task Write_StatusesReportsAndUnreadable_DeviceHealth()
    {
        await using var store = new PostgresCollectorStore(await postgres.NewDatabaseAsync());
        await StoreContract.Write_StatusesReportsAndUnreadable_DeviceHealthAsync(store);
    }

    [PostgresFact]
    public async Task ThresholdSpans_ThresholdChanged_ChangeFound()
    {
        await using var store = new PostgresCollectorStore(await postgres.NewDatabaseAsync());
        await StoreContract.ThresholdSpans_ThresholdChanged_ChangeFoundAsync(store);
    }
}
