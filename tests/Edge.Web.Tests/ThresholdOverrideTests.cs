using System.Text;
using System.Text.Json;
using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;
using Edge.Sync;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Web.Tests;

/// <summary>The one run-time threshold, as the decide stage sees it: the page and the province both change it.</summary>
public sealed class ThresholdOverrideTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-threshold");

    [Fact]
    public async Task Decide_OverrideApplied_InForceForTheNextImageAndAfterReopening()
    {
        using (var store = ScreeningStore.Open(_temp.Combine("edge.db")))
        {
            var overrides = Thresholds.Over(store, bundle: 0.6, configured: 0.5);
            var decide = new DecideStage(overrides.InForce);

            var before = await decide.RunAsync(Scored(0.4), CancellationToken.None);
            await overrides.ApplyAsync(0.35, "MK", ThresholdOverride.SiteOrigin, "site calibration", CancellationToken.None);
            var after = await decide.RunAsync(Scored(0.4), CancellationToken.None);

            Assert.Equal(new Decision(Referral.NoRefer, 0.5, ThresholdSource.Site), before.Decision);
            Assert.Equal(new Decision(Referral.Refer, 0.35, ThresholdSource.Site), after.Decision);
            Assert.Single(store.Audit("decision"), a => a.Action == "threshold-changed");
        }

        using var reopened = ScreeningStore.Open(_temp.Combine("edge.db"));
        var decideAgain = new DecideStage(Thresholds.InForce(reopened, 0.6, 0.5));
        Assert.Equal(0.35, (await decideAgain.RunAsync(Scored(0.4), CancellationToken.None)).Decision!.Threshold);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public async Task Apply_NotAProbability_RefusedAndNothingRecorded(double threshold)
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var overrides = Thresholds.Over(store);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => overrides.ApplyAsync(threshold, "MK", ThresholdOverride.ProgrammeOrigin, "command", CancellationToken.None).AsTask());
        Assert.Null(store.CurrentThresholdOverride());
        Assert.Empty(store.PendingOutbox(10));
    }

    [Fact]
    public async Task Apply_OnThePage_BoundToTheModelAuditedAndReportedToTheProvince()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var overrides = Thresholds.Over(store);

        await overrides.ApplyAsync(0.35, "MK", ThresholdOverride.SiteOrigin, "site calibration on 45 cases", CancellationToken.None);

        var row = Assert.Single(store.ThresholdHistory());
        Assert.Equal(new ThresholdHistoryEntry(0.35, Thresholds.Model.Sha256, row.AppliedAt, "MK", "site", "site calibration on 45 cases"), row);
        var audit = Assert.Single(store.Audit("decision"));
        Assert.Equal("0.350000 from site (model tb-cxr test) set by MK on the page (site calibration on 45 cases)", audit.Detail);
        var notice = Assert.Single(store.PendingOutbox(10));
        Assert.Equal("tb/v1/test-site/test-device/cmd/threshold/reply", notice.Topic);
        var body = JsonDocument.Parse(notice.Payload).RootElement;
        Assert.Equal(35, body.GetProperty("threshold").GetDouble());
        Assert.Equal("site", body.GetProperty("thresholdSource").GetString());
        Assert.StartsWith("site:", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("applied on the device: " + audit.Detail, body.GetProperty("detail").GetString());

        // A restart describes it in the same words, so it does not audit it again.
        Assert.Equal(audit.Detail, Thresholds.InForce(store).AuditDetail());
    }

    [Fact]
    public async Task PageAndProvince_EitherOrder_NewestInForceHistoryKeptNewModelLapsesIt()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var inForce = Thresholds.InForce(store, bundle: 0.5, configured: 0.45);
        var page = Thresholds.Over(inForce, store);
        var commands = new SyncCommands(store, inForce, new SyncSummaries(store, "tb/v1", "test-site", "test-device", TimeZoneInfo.Utc, Thresholds.Model), "tb/v1", "test-site", "test-device", NullLogger.Instance, TimeProvider.System);

        await page.ApplyAsync(0.35, "MK", ThresholdOverride.SiteOrigin, "site calibration", CancellationToken.None);
        await commands.HandleAsync(Command("""{"id":"c1","issuedBy":"tb-programme/jdoe","threshold":30}"""), CancellationToken.None);
        Assert.Equal(0.30, inForce.Decide(0).Threshold);
        Assert.Equal(new ThresholdOverride(0.30, Thresholds.Model.Sha256, inForce.Override!.AppliedAt, "tb-programme/jdoe", "programme", "c1"), inForce.Override);

        await page.ApplyAsync(0.4, "MK", ThresholdOverride.SiteOrigin, "site calibration", CancellationToken.None);
        Assert.Equal(0.4, inForce.Decide(0).Threshold);
        await commands.HandleAsync(Command("""{"id":"c2","issuedBy":"tb-programme/jdoe","clear":true}"""), CancellationToken.None);
        Assert.Equal(0.45, inForce.Decide(0).Threshold);
        Assert.Null(page.Current);
        Assert.Null(store.CurrentThresholdOverride());

        Assert.Equal([null, 0.4, 0.30, 0.35], store.ThresholdHistory().Select(h => h.Threshold));
        Assert.Equal(["programme", "site", "programme", "site"], store.ThresholdHistory().Select(h => h.Origin));
        Assert.Equal(4, store.Audit("decision").Count(a => a.Action == "threshold-changed"));

        // A site calibration is for one model too: a new bundle does not inherit it.
        await page.ApplyAsync(0.2, "MK", ThresholdOverride.SiteOrigin, "site calibration", CancellationToken.None);
        var newModel = Thresholds.InForce(store, 0.5, 0.45, Thresholds.Model with { Version = "2", Sha256 = new string('c', 64) });
        Assert.True(newModel.StoredOverrideLapsed);
        Assert.Equal(0.45, newModel.Decide(0).Threshold);
    }

    public void Dispose() => _temp.Dispose();

    private static SyncCommand Command(string body) => new("threshold", Encoding.UTF8.GetBytes(body), Retained: false);

    private static ScreeningCase Scored(double probability) => new()
    {
        Received = new ReceivedImage("x", "x", "x.png", IntakeSource.File, DateTimeOffset.UnixEpoch),
        Output = new ModelOutput(probability, [], 0, 0),
    };
}
