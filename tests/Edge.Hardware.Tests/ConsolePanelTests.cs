using System.Device.Gpio;
using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Hardware.Tests;

public sealed class ConsolePanelTests
{
    private static readonly BoardProfile Profile = BoardProfile.Load(BoardProfile.Simulated);

    [Fact]
    public async Task ShowAsync_Ready_OnlyGreenHigh()
    {
        var (panel, driver, _) = Open();
        await using var owned = panel;

        await panel.ShowAsync(Output("received norefer"), CancellationToken.None);

        Assert.Equal([("green", PinValue.High)], driver.Changes.Select(c => (c.Name, c.Value)));
    }

    [Fact]
    public async Task ShowAsync_ReferSequence_YellowThenRedWithTwoBeepsUntilAcknowledged()
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;

        await panel.ShowAsync(Output(""), CancellationToken.None);
        await panel.ShowAsync(Output("received"), CancellationToken.None);
        await panel.ShowAsync(Output("received refer"), CancellationToken.None);
        for (var i = 0; i < 50; i++)
        {
            clock.Advance(10);
            panel.Refresh();
        }

        await panel.ShowAsync(Output("received refer ack"), CancellationToken.None);

        Assert.Equal(
            ["green high", "green low", "yellow high", "yellow low", "red high", "buzzer high", "buzzer low", "buzzer high", "buzzer low", "red low", "green high"],
            driver.Changes.Select(c => $"{c.Name} {(c.Value == PinValue.High ? "high" : "low")}"));
    }

    [Fact]
    public async Task Refresh_Fault_RedBlinksAt2Hz()
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;
        await panel.ShowAsync(Output("fault:storage"), CancellationToken.None);

        var red = new List<PinValue>();
        for (var i = 0; i < 4; i++)
        {
            red.Add(driver.Level(Profile.Red.Offset));
            clock.Advance(250);
            panel.Refresh();
        }

        Assert.Equal([PinValue.High, PinValue.Low, PinValue.High, PinValue.Low], red);
    }

    [Fact]
    public async Task Refresh_SyncBacklog_FourthLineBlinksAt1Hz()
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;
        await panel.ShowAsync(Output("sync:backlog"), CancellationToken.None);

        var on = driver.Level(Profile.Sync!.Offset);
        clock.Advance(500);
        panel.Refresh();

        Assert.Equal((PinValue.High, PinValue.Low), (on, driver.Level(Profile.Sync.Offset)));
    }

    /// <summary>
    /// The console's line sequences per situation, through the state machine and the simulator driver: each line's history
    /// of levels (H/L) from start; "wait:N" runs the loop for N ms of the manual clock.
    /// </summary>
    [Theory]
    [InlineData("normal", "received norefer", "green=HLH yellow=HL red= buzzer= sync=")]
    [InlineData("refer", "received refer wait:1000 ack", "green=HLH yellow=HL red=HL buzzer=HLHL sync=")]
    [InlineData("reject", "received notscreened wait:1000 ack", "green=HLH yellow=HLHL red= buzzer= sync=")]
    [InlineData("fault", "received fault:inference wait:1000", "green=HL yellow=HL red=HLHLH buzzer=HLHLHL sync=")]
    [InlineData("fault-silenced", "fault:model-not-loaded wait:300 ack wait:700", "green=HL yellow= red=HLHLH buzzer=HLHL sync=")]
    [InlineData("printer-out", "attention:printer-out-of-paper wait:1000 clear:printer-out-of-paper", "green=HLH yellow=HLHL red= buzzer= sync=")]
    [InlineData("offline", "sync:synced wait:1000 sync:backlog wait:1000 sync:offline", "green=H yellow= red= buzzer= sync=HLHL")]
    [InlineData("refer-outranks-printer-out", "attention:printer-offline received refer", "green=HL yellow=HL red=H buzzer=H sync=")]
    public async Task ShowAsync_Situation_LineSequence(string situation, string events, string expected)
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;
        var applied = new List<string>();
        await panel.ShowAsync(Output(""), CancellationToken.None);

        foreach (var token in events.Split(' '))
        {
            if (token.StartsWith("wait:", StringComparison.Ordinal))
            {
                for (var t = 0; t < int.Parse(token[5..], System.Globalization.CultureInfo.InvariantCulture); t += 10)
                {
                    clock.Advance(10);
                    panel.Refresh();
                }

                continue;
            }

            applied.Add(token);
            await panel.ShowAsync(Output(string.Join(' ', applied)), CancellationToken.None);
        }

        var history = string.Join(' ', new[] { "green", "yellow", "red", "buzzer", "sync" }.Select(line =>
            $"{line}={string.Concat(driver.Changes.Where(c => c.Name == line).Select(c => c.Value == PinValue.High ? 'H' : 'L'))}"));
        Assert.True(expected == history, $"{situation}: expected {expected}, got {history}");
    }

    [Theory]
    [InlineData(20, null)]
    [InlineData(40, ButtonGesture.ShortPress)]
    [InlineData(2900, ButtonGesture.ShortPress)]
    [InlineData(3100, ButtonGesture.LongPress)]
    public async Task Refresh_ButtonHeld_GivesTheGestureForItsLength(int heldMs, ButtonGesture? expected)
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;
        var button = Profile.Button!.Offset;

        Hold(panel, driver, clock, button, heldMs);

        Assert.Equal(expected, panel.Gestures.TryRead(out var gesture) ? gesture : null);
        Assert.False(panel.Gestures.TryRead(out _));
    }

    [Fact]
    public async Task Refresh_ButtonBounces_OneShortPress()
    {
        var (panel, driver, clock) = Open();
        await using var owned = panel;
        var button = Profile.Button!.Offset;

        foreach (var level in new[] { PinValue.Low, PinValue.High, PinValue.Low, PinValue.High, PinValue.Low })
        {
            driver.Drive(button, level);
            clock.Advance(5);
            panel.Refresh();
        }

        Hold(panel, driver, clock, button, 200);

        Assert.True(panel.Gestures.TryRead(out var gesture));
        Assert.Equal(ButtonGesture.ShortPress, gesture);
        Assert.False(panel.Gestures.TryRead(out _));
    }

    [Fact]
    public async Task DisposeAsync_LinesOn_AllOffAndGesturesComplete()
    {
        var (panel, driver, _) = Open();
        await panel.ShowAsync(Output("received refer"), CancellationToken.None);

        await panel.DisposeAsync();

        Assert.All(Profile.Outputs(), l => Assert.Equal(PinValue.Low, driver.Level(l.Line.Offset)));
        Assert.True(panel.Gestures.Completion.IsCompleted);
    }

    [Fact]
    public async Task RunAsync_Cancelled_Returns()
    {
        var (panel, _, _) = Open();
        await using var owned = panel;
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await panel.RunAsync(cancel.Token);
    }

    [Fact]
    public async Task Open_SimulatedWithLog_WritesTimeLineAndLevel()
    {
        using var temp = new TempDirectory();
        var log = temp.Combine("lights.log");
        await using (var panel = ConsolePanel.Open(Profile, new ManualClock(), log))
        {
            await panel.ShowAsync(LightState.Refer, CancellationToken.None);
        }

        Assert.Equal(
            [
                "2026-03-01T08:00:00.000Z # red steady (refer for TB test), sync off",
                "2026-03-01T08:00:00.000Z red    high",
                "2026-03-01T08:00:00.000Z buzzer high",
                "2026-03-01T08:00:00.000Z # stopped: all lines off",
                "2026-03-01T08:00:00.000Z red    low",
                "2026-03-01T08:00:00.000Z buzzer low",
            ],
            File.ReadAllLines(log));
    }

    [Theory]
    [InlineData("simulated")]
    [InlineData("jetson-orin-nano")]
    [InlineData("jetson-xavier-nx")]
    [InlineData("raspberry-pi-4")]
    [InlineData("raspberry-pi-5")]
    public void Load_BuiltIn_HasEveryLineOnItsOwnOffset(string name)
    {
        var profile = BoardProfile.Load(name);

        Assert.Equal(name, profile.Name);
        Assert.Contains(name, BoardProfile.BuiltIn);
        Assert.Equal(6, profile.LineNames().Count);
    }

    [Fact]
    public void Load_Unknown_ThrowsNamingTheChoices()
    {
        var ex = Assert.Throws<HardwareException>(() => BoardProfile.Load("beaglebone"));

        Assert.Contains("jetson-orin-nano", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileReusingALine_Throws()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("bad.json");
        File.WriteAllText(path, """{ "name": "bad", "description": "", "chip": 0, "chipLabel": "x", "green": { "offset": 1 }, "yellow": { "offset": 1 }, "red": { "offset": 2 } }""");

        Assert.Throws<HardwareException>(() => BoardProfile.Load(path));
    }

    private static (ConsolePanel Panel, SimulatedGpioDriver Driver, ManualClock Clock) Open()
    {
        var clock = new ManualClock();
        var driver = new SimulatedGpioDriver(clock, Profile.LineNames());
        return (new ConsolePanel(new GpioController(driver), Profile, clock, ownsController: true), driver, clock);
    }

    /// <summary>Presses the active-low button for the given time, sampled every tick as the loop would, then releases it.</summary>
    private static void Hold(ConsolePanel panel, SimulatedGpioDriver driver, ManualClock clock, int button, int heldMs)
    {
        driver.Drive(button, PinValue.Low);
        for (var t = 0; t < heldMs; t += 10)
        {
            panel.Refresh();
            clock.Advance(10);
        }

        driver.Drive(button, PinValue.High);
        for (var t = 0; t < 100; t += 10)
        {
            panel.Refresh();
            clock.Advance(10);
        }
    }

    private static ConsoleOutput Output(string events) =>
        ConsoleMachine.Output(ConsoleMachine.ApplyAll(ConsoleState.Initial, events.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Event)), ConsoleSettings.Default);

    private static ConsoleEvent Event(string token) => token.Split(':') switch
    {
        ["received"] => new ConsoleEvent.ImageReceived(),
        ["refer"] => new ConsoleEvent.Screened(Referral.Refer),
        ["norefer"] => new ConsoleEvent.Screened(Referral.NoRefer),
        ["ack"] => new ConsoleEvent.Acknowledged(),
        ["notscreened"] => new ConsoleEvent.NotScreened(),
        ["attention", var name] => new ConsoleEvent.AttentionRaised(name),
        ["clear", var name] => new ConsoleEvent.AttentionCleared(name),
        ["fault", var name] => new ConsoleEvent.FaultRaised(name),
        ["sync", var state] => new ConsoleEvent.SyncChanged(Enum.Parse<SyncState>(state, ignoreCase: true)),
        _ => throw new ArgumentException(token),
    };
}
