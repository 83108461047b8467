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
    [InlineData("", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received", LightPattern.Off, LightPattern.Steady, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received received norefer", LightPattern.Off, LightPattern.Steady, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received norefer", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received refer", LightPattern.Off, LightPattern.Off, LightPattern.Steady, LightPattern.Off, BuzzerPattern.Refer)]
    [InlineData("received refer received norefer", LightPattern.Off, LightPattern.Off, LightPattern.Steady, LightPattern.Off, BuzzerPattern.Refer)]
    [InlineData("received refer ack", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received refer received ack", LightPattern.Off, LightPattern.Steady, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received rejected", LightPattern.Off, LightPattern.Blink1Hz, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received rejected received norefer", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received rejected ack", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received refer received rejected", LightPattern.Off, LightPattern.Off, LightPattern.Steady, LightPattern.Off, BuzzerPattern.Refer)]
    [InlineData("received left", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("left", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("attention:printer-out-of-paper", LightPattern.Off, LightPattern.Blink1Hz, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("attention:printer-out-of-paper ack", LightPattern.Off, LightPattern.Blink1Hz, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("attention:disk-low attention:printer-offline -attention:disk-low", LightPattern.Off, LightPattern.Blink1Hz, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("attention:disk-low -attention:disk-low", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received refer attention:printer-offline", LightPattern.Off, LightPattern.Off, LightPattern.Steady, LightPattern.Off, BuzzerPattern.Refer)]
    [InlineData("fault:model-not-loaded", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.Fault)]
    [InlineData("received refer fault:storage", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.Fault)]
    [InlineData("fault:storage ack", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("fault:storage ack fault:inference", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.Fault)]
    [InlineData("fault:storage fault:inference -fault:storage", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.Fault)]
    [InlineData("fault:storage ack fault:storage", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("fault:storage -fault:storage", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Off, BuzzerPattern.None)]
    [InlineData("received refer fault:storage -fault:storage", LightPattern.Off, LightPattern.Off, LightPattern.Steady, LightPattern.Off, BuzzerPattern.Refer)]
    [InlineData("sync:synced", LightPattern.Steady, LightPattern.Off, LightPattern.Off, LightPattern.Steady, BuzzerPattern.None)]
    [InlineData("sync:backlog received", LightPattern.Off, LightPattern.Steady, LightPattern.Off, LightPattern.Blink1Hz, BuzzerPattern.None)]
    [InlineData("sync:synced sync:offline fault:storage", LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, BuzzerPattern.Fault)]
    public void Output_EventSequence_DrivesEachLineAndTheBuzzer(string events, LightPattern green, LightPattern yellow, LightPattern red, LightPattern sync, BuzzerPattern buzzer)
    {
        var output = ConsoleMachine.Output(ConsoleMachine.ApplyAll(ConsoleState.Initial, Parse(events)), ConsoleSettings.Default);

        Assert.Equal((green, yellow, red, sync, buzzer), (output.Green, output.Yellow, output.Red, output.Sync, output.Buzzer));
    }

    [Theory]
    [InlineData("received refer", false, true, BuzzerPattern.None)]
    [InlineData("received refer", true, false, BuzzerPattern.Refer)]
    [InlineData("fault:storage", true, false, BuzzerPattern.None)]
    [InlineData("fault:storage", false, true, BuzzerPattern.Fault)]
    public void Output_BuzzerMuted_LightsStayButBuzzerIsSilent(string events, bool muteFault, bool muteRefer, BuzzerPattern buzzer)
    {
        var output = ConsoleMachine.Output(ConsoleMachine.ApplyAll(ConsoleState.Initial, Parse(events)), new ConsoleSettings(muteRefer, muteFault));

        Assert.Equal(buzzer, output.Buzzer);
        Assert.NotEqual(LightPattern.Off, output.Red);
    }

    [Theory]
    [InlineData("", LightState.Ready)]
    [InlineData("received", LightState.Screening)]
    [InlineData("received rejected", LightState.Attention)]
    [InlineData("received refer", LightState.Refer)]
    [InlineData("received refer fault:storage", LightState.Fault)]
    public void Headline_EventSequence_HighestPriorityStateWins(string events, LightState expected)
    {
        Assert.Equal(expected, ConsoleMachine.Headline(ConsoleMachine.ApplyAll(ConsoleState.Initial, Parse(events))));
    }

    [Theory]
    [InlineData(LightPattern.Blink1Hz, 0, true)]
    [InlineData(LightPattern.Blink1Hz, 499, true)]
    [InlineData(LightPattern.Blink1Hz, 500, false)]
    [InlineData(LightPattern.Blink1Hz, 1000, true)]
    [InlineData(LightPattern.Blink2Hz, 249, true)]
    [InlineData(LightPattern.Blink2Hz, 250, false)]
    [InlineData(LightPattern.Blink2Hz, 500, true)]
    [InlineData(LightPattern.Steady, 12345, true)]
    [InlineData(LightPattern.Off, 0, false)]
    public void IsOn_LightPatternAtTime_FollowsItsRate(LightPattern pattern, int ms, bool on)
    {
        Assert.Equal(on, PatternTiming.IsOn(pattern, TimeSpan.FromMilliseconds(ms)));
    }

    [Fact]
    public void IsOn_ReferAndFaultBuzzer_SoundDifferently()
    {
        var refer = Enumerable.Range(0, 200).Count(i => PatternTiming.IsOn(BuzzerPattern.Refer, TimeSpan.FromMilliseconds(i * 10)));
        var fault = Enumerable.Range(0, 200).Count(i => PatternTiming.IsOn(BuzzerPattern.Fault, TimeSpan.FromMilliseconds(i * 10)));

        Assert.Equal(30, refer);
        Assert.Equal(45, fault);
    }

    [Fact]
    public void Compose_Refer_SaysReferWithScoreBarQrModelAndNotice()
    {
        var slip = SlipComposer.Compose(Result(ScreeningStatus.Screened, Referral.Refer), Settings);

        Assert.True(slip.Emphasise);
        Assert.Contains(slip.Lines, l => l.Contains("REFER TB TEST", StringComparison.Ordinal));
        Assert.Contains("Score 72.0 / threshold 40.0", slip.Lines);
        Assert.Contains(new SlipBlock.ScoreBar(0.72, 0.40), slip.Blocks);
        Assert.Contains(new SlipBlock.QrCode("0000000000000000000000000000abcd"), slip.Blocks);
        Assert.Contains(slip.Lines, l => l.Contains("tb-cxr 1.0.0", StringComparison.Ordinal));
        Assert.Equal("AI triage aid, not a diagnosis.", slip.Lines[^1]);
        Assert.All(slip.Lines, l => Assert.True(SlipComposer.Columns(l) <= SlipComposer.Width, l));
    }

    [Fact]
    public void Compose_Rejected_GivesTheReasonWrappedToTheRollAndWhatToDo()
    {
        var qc = QcReport.Of([new QcFinding("body-part-not-chest", QcVerdict.Reject, "Body part is HIP, not chest, so this image was not screened by the model at all.")]);
        var slip = SlipComposer.Compose(Result(ScreeningStatus.Rejected, null) with { Qc = qc }, Settings);

        Assert.False(slip.Emphasise);
        Assert.Contains(slip.Lines, l => l.Contains("NOT SCREENED", StringComparison.Ordinal));
        Assert.Contains(slip.Lines, l => l.StartsWith("Body part is HIP", StringComparison.Ordinal));
        Assert.Contains(slip.Lines, l => l.StartsWith("Retake", StringComparison.Ordinal));
        Assert.DoesNotContain(slip.Blocks, b => b is SlipBlock.ScoreBar);
        Assert.All(slip.Lines, l => Assert.True(SlipComposer.Columns(l) <= SlipComposer.Width, l));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Compose_ExamReference_PrintedOnlyWhenConfigured(bool show, bool printed)
    {
        var result = Result(ScreeningStatus.Screened, Referral.NoRefer) with { Identity = new PatientIdentity { AccessionNumber = "ACC-991" } };

        var slip = SlipComposer.Compose(result, Settings with { ShowExamReference = show });

        Assert.Equal(printed, slip.Lines.Any(l => l.Contains("ACC-991", StringComparison.Ordinal)));
    }

    [Fact]
    public void Compose_Chinese_BilingualHeadlineAndNoticeWithinTheRoll()
    {
        var slip = SlipComposer.Compose(Result(ScreeningStatus.Screened, Referral.Refer), Settings with { Language = SlipLanguage.Chinese });

        Assert.Contains(slip.Lines, l => l.Contains("建议查痰", StringComparison.Ordinal));
        Assert.Contains(slip.Lines, l => l.Contains("REFER TB TEST", StringComparison.Ordinal));
        Assert.Equal(["AI 辅助筛查，非诊断", "AI triage aid, not a diagnosis."], slip.Lines.TakeLast(2));
        Assert.All(slip.Lines, l => Assert.True(SlipComposer.Columns(l) <= SlipComposer.Width, l));
    }

    private static SlipSettings Settings { get; } = new("Clinic 7", TimeZoneInfo.Utc);

    /// <summary>Space-separated events: received, left, refer, norefer, rejected, ack, fault:NAME, -fault:NAME, attention:NAME, -attention:NAME, sync:STATE.</summary>
    private static IEnumerable<ConsoleEvent> Parse(string events) =>
        events.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select<string, ConsoleEvent>(token => token.Split(':') switch
        {
            ["received"] => new ConsoleEvent.ImageReceived(),
            ["left"] => new ConsoleEvent.ImageLeft(),
            ["refer"] => new ConsoleEvent.Screened(Referral.Refer),
            ["norefer"] => new ConsoleEvent.Screened(Referral.NoRefer),
            ["rejected"] => new ConsoleEvent.NotScreened(),
            ["ack"] => new ConsoleEvent.Acknowledged(),
            ["fault", var name] => new ConsoleEvent.FaultRaised(name),
            ["-fault", var name] => new ConsoleEvent.FaultCleared(name),
            ["attention", var name] => new ConsoleEvent.AttentionRaised(name),
            ["-attention", var name] => new ConsoleEvent.AttentionCleared(name),
            ["sync", var state] => new ConsoleEvent.SyncChanged(Enum.Parse<SyncState>(state, ignoreCase: true)),
            _ => throw new ArgumentException($"Unknown event '{token}'."),
        });

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
