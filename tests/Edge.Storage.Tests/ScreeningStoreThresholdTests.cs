using Edge.Domain;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Storage.Tests;

public sealed class ScreeningStoreThresholdTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Sha = new('b', 64);
    private readonly TempDirectory _temp = new("edge-threshold-store");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void RecordThresholdChange_SetThenClear_BothKeptNewestInForceAuditedWithItsMessages()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var set = new ThresholdOverride(0.37, Sha, Now, "MK", ThresholdOverride.SiteOrigin, "site calibration");

        store.RecordThresholdChange(new ThresholdChange.Set(set, "0.370000 from site"), [new OutboxMessage("notice/1", "tb/v1/s/d/cmd/threshold/reply", "{}")]);
        Assert.Equal(set, store.CurrentThresholdOverride());
        store.RecordThresholdChange(new ThresholdChange.Clear(Sha, Now.AddMinutes(1), "p", ThresholdOverride.ProgrammeOrigin, "c2", "0.500000 from bundle"), []);

        Assert.Null(store.CurrentThresholdOverride());
        Assert.Equal([null, 0.37], store.ThresholdHistory().Select(h => h.Threshold));
        Assert.Equal(["0.370000 from site", "0.500000 from bundle"], store.Audit("decision").Where(a => a.Action == "threshold-changed").Select(a => a.Detail));
        Assert.Equal(["notice/1"], store.PendingOutbox(10).Select(m => m.MessageId));
    }

    [Fact]
    public void Open_RecordWithTheEarlierSingleSlotTable_CarriedIntoTheHistory()
    {
        var path = _temp.Combine("edge.db");
        using (ScreeningStore.Open(path))
        {
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE TABLE threshold_override(slot INTEGER PRIMARY KEY CHECK (slot = 1), threshold REAL NOT NULL, model_sha256 TEXT NOT NULL,
                    command_id TEXT NOT NULL, issued_by TEXT NOT NULL, applied_at TEXT NOT NULL);
                INSERT INTO threshold_override VALUES (1, 0.3, '{Sha}', 'c1', 'tb-programme/jdoe', '{Now:O}');
                """;
            command.ExecuteNonQuery();
        }

        using var reopened = ScreeningStore.Open(path);

        Assert.Equal(new ThresholdOverride(0.3, Sha, Now, "tb-programme/jdoe", "programme", "c1"), reopened.CurrentThresholdOverride());
        Assert.Single(reopened.ThresholdHistory());
    }
}
