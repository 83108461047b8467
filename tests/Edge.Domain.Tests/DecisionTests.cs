using Edge.Domain;

namespace Edge.Domain.Tests;

public sealed class DecisionTests
{
    [Theory]
    [InlineData(0.30, 0.40, null, Referral.NoRefer, 0.40, ThresholdSource.Bundle)]
    [InlineData(0.40, 0.40, null, Referral.Refer, 0.40, ThresholdSource.Bundle)]
    [InlineData(0.90, 0.40, null, Referral.Refer, 0.40, ThresholdSource.Bundle)]
    [InlineData(0.35, 0.40, 0.30, Referral.Refer, 0.30, ThresholdSource.Site)]
    [InlineData(0.45, 0.40, 0.50, Referral.NoRefer, 0.50, ThresholdSource.Site)]
    public void Decide_ScoreAndThresholds_RefersAtOrAboveTheThresholdInForce(double p, double bundle, double? site, Referral referral, double threshold, ThresholdSource source)
    {
        var decision = ThresholdPolicy.Decide(p, bundle, site);

        Assert.Equal(new Decision(referral, threshold, source), decision);
    }

    [Theory]
    [InlineData(0, false, false, false, LightState.Ready)]
    [InlineData(2, false, false, false, LightState.Screening)]
    [InlineData(1, false, true, false, LightState.Attention)]
    [InlineData(1, true, true, false, LightState.Refer)]
    [InlineData(0, true, false, true, LightState.Fault)]
    public void Show_Facts_HighestPriorityLightWins(int inProgress, bool refer, bool attention, bool fault, LightState expected)
    {
        Assert.Equal(expected, LightPolicy.Show(new ConsoleFacts(inProgress, refer, attention, fault)));
    }

    [Fact]
    public void After_ReferThenNoRefer_RedLightHoldsUntilAcknowledged()
    {
        var facts = LightPolicy.After(ConsoleFacts.Idle, Result(ScreeningStatus.Screened, Referral.Refer));
        facts = LightPolicy.After(facts, Result(ScreeningStatus.Screened, Referral.NoRefer));

        Assert.Equal(LightState.Refer, LightPolicy.Show(facts));
    }

    [Fact]
    public void After_Rejected_AsksForAttention()
    {
        var facts = LightPolicy.After(ConsoleFacts.Idle, Result(ScreeningStatus.Rejected, null));

        Assert.Equal(LightState.Attention, LightPolicy.Show(facts));
    }

    [Fact]
    public void Compose_Refer_SaysReferWithScoreThresholdModelAndNotice()
    {
        var slip = SlipComposer.Compose(Result(ScreeningStatus.Screened, Referral.Refer), "clinic-7", TimeZoneInfo.Utc);

        Assert.True(slip.Emphasise);
        Assert.Contains(slip.Lines, l => l.Contains("REFER FOR TB TEST", StringComparison.Ordinal));
        Assert.Contains("Score 72.0 / threshold 40.0", slip.Lines);
        Assert.Contains(slip.Lines, l => l.Contains("tb-cxr 1.0.0", StringComparison.Ordinal));
        Assert.Equal("AI triage aid, not a diagnosis.", slip.Lines[^1]);
        Assert.All(slip.Lines, l => Assert.True(l.Length <= SlipComposer.Width, l));
    }

    [Fact]
    public void Compose_Rejected_GivesTheReasonWrappedToTheRoll()
    {
        var qc = QcReport.Of([new QcFinding("body-part-not-chest", QcVerdict.Reject, "Body part is HIP, not chest, so this image was not screened by the model at all.")]);
        var slip = SlipComposer.Compose(Result(ScreeningStatus.Rejected, null) with { Qc = qc }, "clinic-7", TimeZoneInfo.Utc);

        Assert.Contains(slip.Lines, l => l.Contains("NOT SCREENED", StringComparison.Ordinal));
        Assert.Contains(slip.Lines, l => l.StartsWith("Body part is HIP", StringComparison.Ordinal));
        Assert.All(slip.Lines, l => Assert.True(l.Length <= SlipComposer.Width, l));
    }

    private static ScreeningResult Result(ScreeningStatus status, Referral? referral) => new()
    {
        Id = "0000000000000000000000000000abcd",
        OriginalName = "x.dcm",
        Source = IntakeSource.File,
        ReceivedAt = DateTimeOffset.UnixEpoch,
        ScreenedAt = DateTimeOffset.UnixEpoch,
        Status = status,
        Probability = referral is null ? null : 0.72,
        Decision = referral is { } r ? new Decision(r, 0.40, ThresholdSource.Bundle) : null,
        Model = new ModelIdentity("tb-cxr", "1.0.0", new string('a', 64)),
        Qc = QcReport.Of([]),
    };
}
