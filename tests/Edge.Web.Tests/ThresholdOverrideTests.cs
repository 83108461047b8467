using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;

namespace Edge.Web.Tests;

/// <summary>The one door for a run-time threshold, as the decide stage sees it (the page and the province both use it).</summary>
public sealed class ThresholdOverrideTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-threshold");

    [Fact]
    public async Task Decide_OverrideApplied_InForceForTheNextImageAndAfterReopening()
    {
        using (var store = ScreeningStore.Open(_temp.Combine("edge.db")))
        {
            var overrides = new RecordedThresholdOverrides(store, TimeProvider.System);
            var decide = new DecideStage(bundleThreshold: 0.6, siteThreshold: 0.5, overrides);

            var before = await decide.RunAsync(Scored(0.4), CancellationToken.None);
            await overrides.ApplyAsync(0.35, "MK", "page", "site calibration", CancellationToken.None);
            var after = await decide.RunAsync(Scored(0.4), CancellationToken.None);

            Assert.Equal(new Decision(Referral.NoRefer, 0.5, ThresholdSource.Site), before.Decision);
            Assert.Equal(new Decision(Referral.Refer, 0.35, ThresholdSource.Site), after.Decision);
            Assert.Single(store.Audit("decision"), a => a.Action == "threshold-override");
        }

        using var reopened = ScreeningStore.Open(_temp.Combine("edge.db"));
        var decideAgain = new DecideStage(0.6, 0.5, new RecordedThresholdOverrides(reopened, TimeProvider.System));
        Assert.Equal(0.35, (await decideAgain.RunAsync(Scored(0.4), CancellationToken.None)).Decision!.Threshold);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public async Task Apply_NotAProbability_RefusedAndNothingRecorded(double threshold)
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var overrides = new RecordedThresholdOverrides(store, TimeProvider.System);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => overrides.ApplyAsync(threshold, "MK", "mqtt", "command", CancellationToken.None).AsTask());
        Assert.Null(store.CurrentThresholdOverride());
    }

    public void Dispose() => _temp.Dispose();

    private static ScreeningCase Scored(double probability) => new()
    {
        Received = new ReceivedImage("x", "x", "x.png", IntakeSource.File, DateTimeOffset.UnixEpoch),
        Output = new ModelOutput(probability, [], 0, 0),
    };
}
