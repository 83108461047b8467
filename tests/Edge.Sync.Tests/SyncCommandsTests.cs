using System.Text;
using System.Text.Json;
using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>Commands, statistics and drift against a real record, without a broker: what each writes to the outbox and the audit.</summary>
public sealed class SyncCommandsTests : IDisposable
{
    private static readonly ModelIdentity Model = new("tb-cxr", "1.0.0", new string('b', 64));
    private static readonly DateTimeOffset Noon = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new("edge-commands");
    private readonly ScreeningStore _store;
    private readonly TestLogger _logger = new();
    private readonly FixedClock _clock = new(Noon);
    private readonly SyncSummaries _summaries;
    private ThresholdInForce _threshold;
    private SyncCommands _commands;

    public SyncCommandsTests()
    {
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
        _summaries = new SyncSummaries(_store, "tb/v1", "site-a", "dev-1", TimeZoneInfo.Utc, Model);
        _threshold = new ThresholdInForce(Model, 0.5, null, null);
        _commands = new SyncCommands(_store, _threshold, _summaries, "tb/v1", "site-a", "dev-1", _logger, _clock);
    }

    [Fact]
    public async Task Threshold_Valid_DecidesNextResultsPersistsAcrossRestartAndAudits()
    {
        await SendAsync("threshold", """{"id":"c1","issuedBy":"tb-programme/jdoe","threshold":30,"reason":"calibrated on 400 local films"}""");

        Assert.Equal(new Decision(Referral.Refer, 0.3, ThresholdSource.Site), _threshold.Decide(0.3));
        var reply = Reply("c1");
        Assert.True(reply.GetProperty("accepted").GetBoolean());
        Assert.Equal(30, reply.GetProperty("threshold").GetDouble());
        Assert.Equal("site", reply.GetProperty("thresholdSource").GetString());
        Assert.Equal("0.300000 from site (model tb-cxr 1.0.0) set by command c1 from tb-programme/jdoe", _store.LastAuditDetail("threshold-changed"));
        Assert.Contains("by tb-programme/jdoe: set the threshold to 30; applied", _store.Audit("c1").Single().Detail, StringComparison.Ordinal);

        // A restart reads it back, over the configured threshold; a new model does not inherit it.
        var restarted = new ThresholdInForce(Model, 0.5, 0.6, _store.CurrentThresholdOverride());
        Assert.Equal(0.3, restarted.Decide(0).Threshold);
        Assert.Equal(restarted.AuditDetail(), _store.LastAuditDetail("threshold-changed"));
        var newModel = new ThresholdInForce(Model with { Version = "2.0.0", Sha256 = new string('c', 64) }, 0.5, 0.6, _store.CurrentThresholdOverride());
        Assert.True(newModel.StoredOverrideLapsed);
        Assert.Equal(0.6, newModel.Decide(0).Threshold);
    }

    [Theory]
    [InlineData("""{"id":"c1","issuedBy":"p","threshold":0.42}""", "between 1 and 99")]
    [InlineData("""{"id":"c1","issuedBy":"p","threshold":100}""", "between 1 and 99")]
    [InlineData("""{"id":"c1","issuedBy":"p"}""", "between 1 and 99")]
    [InlineData("""{"id":"c1","issuedBy":"p","threshold":40,"modelSha256":"0123"}""", "calibrated for model sha256 0123")]
    [InlineData("""{"id":"c1","threshold":40}""", "issuedBy is missing")]
    [InlineData("""{"id":"c 1","issuedBy":"p","threshold":40}""", "id is missing")]
    [InlineData("""{"id":"c1","issuedBy":"p","threshold":40,"clear":true}""", "either threshold or clear")]
    [InlineData("""not json""", "not a JSON command")]
    public async Task Threshold_Invalid_RefusedAuditedAndUnchanged(string body, string reason)
    {
        await SendAsync("threshold", body);

        Assert.Equal(0.5, _threshold.Decide(0).Threshold);
        Assert.Null(_store.CurrentThresholdOverride());
        var reply = Reply(null);
        Assert.False(reply.GetProperty("accepted").GetBoolean());
        Assert.Contains(reason, reply.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(_store.Audit(), a => a.Action == "command-threshold" && a.Detail.Contains("refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Threshold_Clear_BackToConfigured()
    {
        _threshold = new ThresholdInForce(Model, 0.5, 0.45, null);
        _commands = new SyncCommands(_store, _threshold, _summaries, "tb/v1", "site-a", "dev-1", _logger, _clock);
        await SendAsync("threshold", """{"id":"c1","issuedBy":"p","threshold":20}""");
        await SendAsync("threshold", """{"id":"c2","issuedBy":"p","clear":true}""");

        Assert.Equal(0.45, _threshold.Decide(0).Threshold);
        Assert.Null(_store.CurrentThresholdOverride());
        Assert.Equal(45, Reply("c2").GetProperty("threshold").GetDouble());
    }

    [Fact]
    public async Task Command_DeliveredTwiceOrRetained_AppliedOnceRetainedRefused()
    {
        await SendAsync("threshold", """{"id":"c1","issuedBy":"p","threshold":20}""");
        await SendAsync("threshold", """{"id":"c1","issuedBy":"p","threshold":80}""");
        await SendAsync("threshold", """{"id":"c2","issuedBy":"p","threshold":70}""", retained: true);

        Assert.Equal(0.2, _threshold.Decide(0).Threshold);
        Assert.Single(_store.Audit("c1"));
        Assert.Contains("must not be retained", Reply("c2").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, _store.PendingOutbox(100).Count);
    }

    [Fact]
    public async Task Resend_SinceDate_QueuesOriginalsAgainAsHistoricalWithTheirIds()
    {
        var early = Screen("r-old", Noon.AddDays(-3), "PID-1", 0.9);
        var recent = new[] { Screen("r-1", Noon.AddDays(-1), "PID-2", 0.1), Screen("r-2", Noon.AddHours(-1), null, 0.7) };

        await SendAsync("resend", """{"id":"c1","issuedBy":"p","since":"2026-12-05"}""");

        Assert.Equal(2, Reply("c1").GetProperty("messages").GetInt32());
        var replays = _store.PendingOutbox(100).Where(m => m.Topic.EndsWith("/result", StringComparison.Ordinal) && m.MessageId.Contains("/resend/", StringComparison.Ordinal)).ToList();
        Assert.Equal(recent.Select(r => r.Id), replays.Select(r => JsonDocument.Parse(r.Payload).RootElement.GetProperty("id").GetString()));
        foreach (var (replay, original) in replays.Zip(recent))
        {
            var payload = SyncPayload.FromJson(replay.Payload)!;
            Assert.True(payload.Historical);
            Assert.Equal(original with { Historical = true }, payload with { Qc = original.Qc, Subject = original.Subject });
            Assert.Equal(original.Subject, payload.Subject);
        }

        Assert.DoesNotContain(replays, r => r.Payload.Contains(early.Id, StringComparison.Ordinal));
        await SendAsync("resend", """{"id":"c2","issuedBy":"p","since":"2026-12-05T00:00:00"}""");
        Assert.Contains("offset", Reply("c2").GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_Day_CountsByAgeBandAndSexFromTheRecord()
    {
        Screen("a", Noon.AddHours(-2), "P1", 0.9, age: 30, sex: "F");
        Screen("b", Noon.AddHours(-1), "P2", 0.1, age: 31, sex: "F");
        Screen("c", Noon.AddHours(-1), "P3", 0.1, age: 70, sex: "M");
        Screen("d", Noon.AddHours(-1), "P4", null, age: 70, sex: "M");
        Screen("e", Noon.AddDays(-1), "P5", 0.9, age: 30, sex: "F");

        await SendAsync("stats", """{"id":"c1","issuedBy":"p","date":"2026-12-06"}""");

        var stats = JsonDocument.Parse(_store.PendingOutbox(100).Single(m => m.Topic == "tb/v1/site-a/dev-1/stats").Payload).RootElement;
        Assert.Equal("site-a/dev-1/stats/2026-12-06", stats.GetProperty("id").GetString());
        Assert.False(stats.GetProperty("complete").GetBoolean());
        var cells = stats.GetProperty("cells").EnumerateArray().ToDictionary(c => $"{c.GetProperty("ageBand").GetString()}/{c.GetProperty("sex").GetString()}", c => (c.GetProperty("screened").GetInt64(), c.GetProperty("refer").GetInt64(), c.GetProperty("rejected").GetInt64()));
        Assert.Equal((2L, 1L, 0L), cells["25-34/F"]);
        Assert.Equal((1L, 0L, 1L), cells["65+/M"]);
        Assert.Equal(3, stats.GetProperty("totals").GetProperty("screened").GetInt64());
    }

    [Fact]
    public void Drift_Day_SummarisesScoresInputsAndScanners()
    {
        for (var i = 0; i < 10; i++)
        {
            var id = $"r{i}";
            _store.RecordDriftSample(new DriftSample(id, "dicom", 2000 + i, 2500, 12, 0.4, 0.1, 0.15, "Acme", i < 7 ? "X1" : "X2"), Noon);
            Screen(id, Noon.AddMinutes(-i), $"P{i}", i / 10.0 + 0.05);
        }

        var drift = JsonDocument.Parse(_summaries.Drift(new DateOnly(2026, 12, 6), Noon, "m").Payload).RootElement;

        Assert.Equal(10, drift.GetProperty("images").GetInt32());
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], drift.GetProperty("scores").GetProperty("histogram").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(50, drift.GetProperty("scores").GetProperty("p50").GetDouble(), 3);
        Assert.Equal(0.5, drift.GetProperty("scores").GetProperty("referRate").GetDouble());
        Assert.Equal(2004.5, drift.GetProperty("inputs").GetProperty("width").GetProperty("p50").GetDouble());
        Assert.Equal(["X1:7", "X2:3"], drift.GetProperty("scanners").EnumerateArray().Select(s => $"{s.GetProperty("model").GetString()}:{s.GetProperty("count").GetInt32()}"));
    }

    [Fact]
    public void QueueDue_AfterMidnight_YesterdayOnceAndCatchUpOnDaysWithResults()
    {
        var schedule = new SummarySchedule(_summaries, _store, TimeSpan.FromMinutes(5), () => { }, _logger, _clock);
        Screen("old", Noon.AddDays(-4), "P", 0.2);

        Assert.Equal(4, schedule.QueueDue(Noon));
        Assert.Equal(0, schedule.QueueDue(Noon.AddHours(1)));

        var queued = _store.PendingOutbox(100).Where(m => !m.Topic.EndsWith("/result", StringComparison.Ordinal)).Select(m => m.MessageId).Order(StringComparer.Ordinal);
        Assert.Equal(["drift/2026-12-02", "drift/2026-12-05", "stats/2026-12-02", "stats/2026-12-05"], queued);
    }

    [Fact]
    public void QueueDue_DeviceInstalledToday_NothingForYesterday()
    {
        var schedule = new SummarySchedule(_summaries, _store, TimeSpan.FromMinutes(5), () => { }, _logger, _clock);
        Screen("today", Noon.AddHours(-1), "P", 0.2);

        Assert.Equal(0, schedule.QueueDue(Noon));
    }

    public void Dispose()
    {
        _store.Dispose();
        _temp.Dispose();
    }

    private ValueTask SendAsync(string name, string body, bool retained = false) =>
        _commands.HandleAsync(new SyncCommand(name, Encoding.UTF8.GetBytes(body), retained), CancellationToken.None);

    /// <summary>The reply to a command (by id; null: the only reply with a null id or the last one).</summary>
    private JsonElement Reply(string? id)
    {
        var replies = _store.PendingOutbox(1000).Where(m => m.Topic.EndsWith("/reply", StringComparison.Ordinal)).Select(m => JsonDocument.Parse(m.Payload).RootElement).ToList();
        return id is null ? replies.Last() : replies.Single(r => r.GetProperty("id").GetString() == id);
    }

    /// <summary>Records a result as the record stage does: image, result, and its result message in one go.</summary>
    private SyncPayload Screen(string id, DateTimeOffset at, string? patientId, double? probability, int? age = 40, string? sex = "F")
    {
        _store.Register(new ReceivedImage(id, "/spool/" + id, id + ".dcm", IntakeSource.File, at), at);
        var result = new ScreeningResult
        {
            Id = id,
            OriginalName = id + ".dcm",
            Source = IntakeSource.File,
            ReceivedAt = at,
            ScreenedAt = at,
            Status = probability is null ? ScreeningStatus.Rejected : ScreeningStatus.Screened,
            Probability = probability,
            Decision = probability is { } p ? ThresholdPolicy.Decide(p, 0.5, null) : null,
            Model = Model,
            Qc = QcReport.NotChecked,
            Header = new ImageHeader { Format = ImageFormat.Dicom, AgeYears = age, Sex = sex },
            Identity = new PatientIdentity { PatientId = patientId },
        };
        var payload = SyncPayload.From(result, "site-a", "dev-1", new Edge.Sync.PatientPseudonym(new byte[32]));
        _store.Record(result, "{\"qc\":{\"codes\":[]}}", "/archive/" + id, new OutboxMessage(id, "tb/v1/site-a/dev-1/result", payload.ToJson()), at);
        return payload;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

public sealed class PatientPseudonymTests
{
    [Fact]
    public void Of_SameIdAndKey_SameHexHmacWithPaddingTrimmed()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var pseudonym = new PatientPseudonym(key);

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("PID-123")));
        Assert.Equal(expected, pseudonym.Of("PID-123"));
        Assert.Equal(expected, pseudonym.Of("PID-123 "));
        Assert.NotEqual(expected, new PatientPseudonym(key.Reverse().ToArray()).Of("PID-123"));
        Assert.Null(pseudonym.Of("  "));
        Assert.Null(pseudonym.Of(null));
    }

    [Fact]
    public void Constructor_ShortKey_ThrowsSyncException()
    {
        Assert.Throws<SyncException>(() => new PatientPseudonym(new byte[16]));
    }
}
