using System.Threading.Channels;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Hardware.Tests;

/// <summary>The print queue against a real pty pair (socat) with a fake ESC/POS printer on the far end, and the record as journal.</summary>
public sealed class SlipPrintQueueTests : IDisposable
{
    private static readonly SlipPrintQueueOptions FastRetry = new() { RetryInterval = TimeSpan.FromMilliseconds(50) };

    private readonly TempDirectory _temp = new("edge-print");
    private readonly ConsoleProbe _console = new();
    private ScreeningStore _store;

    public SlipPrintQueueTests()
    {
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
    }

    public void Dispose()
    {
        _store.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task SubmitAsync_PrinterReady_PrinterDecodesTextThumbnailScoreBarQrAndCut()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath);
        await using var queue = Queue(pty);
        var slip = Slips.Refer("r-ready", withThumbnail: true);

        var outcome = await queue.SubmitAsync(slip, CancellationToken.None);
        var printed = await printer.NextSlipAsync();

        Assert.True(outcome.AllPrinted);
        Assert.Contains(printed.Lines, l => l.Text == "REFER TB TEST" && l.Inverted && l.Bold && l.Size == 0x11 && l.Centred);
        Assert.Contains("AI triage aid, not a diagnosis.", printed.Texts);
        Assert.Equal(["r-ready"], printed.QrCodes);
        Assert.Equal(1, printed.QrPrints);
        var thumbnail = (SlipBlock.Picture)slip.Blocks.Single(b => b is SlipBlock.Picture);
        Assert.Equal([(48, 24), ((thumbnail.Width + 7) / 8, thumbnail.Height)], printed.Rasters.Select(r => (r.WidthBytes, r.Height)));
        Assert.InRange(printed.Rasters[1].InkDots, 1, (printed.Rasters[1].WidthBytes * 8 * thumbnail.Height) - 1);
        Assert.Equal(0, _store.CountPrintJobsPending());
        Assert.Contains(_store.Audit("r-ready"), a => a.Action == "slip-printed");
    }

    [Fact]
    public async Task EnqueueAsync_ChineseWithTheLoopRunning_PrinterDecodesGb18030InChineseMode()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath);
        await using var queue = Queue(pty);
        queue.Start();

        await queue.EnqueueAsync(Slips.Refer("r-zh", language: SlipLanguage.Chinese), CancellationToken.None);
        var printed = await printer.NextSlipAsync();

        Assert.True(printed.ChineseMode);
        Assert.Contains("建议查痰", printed.Texts);
        Assert.Contains("AI 辅助筛查，非诊断", printed.Texts);
    }

    [Fact]
    public async Task SubmitAsync_PaperOut_JobKeptWithAttentionThenPrintedAndClearedWhenPaperIsBack()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath) { Status = PrinterStatus.Ready with { Offline = true, PaperOut = true } };
        await using var queue = Queue(pty);

        var outcome = await queue.SubmitAsync(Slips.Refer("r-paper"), CancellationToken.None);

        Assert.Equal((0, 1), (outcome.Printed, outcome.Pending));
        Assert.False(printer.Slips.TryRead(out _));
        Assert.Equal(1, _store.CountPrintJobsPending());
        Assert.Equal([ConsoleConditions.PrinterOutOfPaper], _console.State.Attentions);
        Assert.Equal(LightPattern.Blink1Hz, _console.Output.Yellow);

        queue.Start();
        printer.Status = PrinterStatus.Ready;
        var printed = await printer.NextSlipAsync();
        await _console.WaitForAsync(s => s.Attentions.IsEmpty);

        Assert.Equal(["r-paper"], printed.QrCodes);
        Assert.Equal(LightState.Ready, _console.Output.State);
        Assert.Equal(0, _store.CountPrintJobsPending());
    }

    [Fact]
    public async Task SubmitAsync_PaperRunsOutDuringTheSlip_KeptAndPrintedWholeWhenPaperIsBack()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath);
        printer.RunOutOfPaperAfter(1);
        await using var queue = Queue(pty);

        var outcome = await queue.SubmitAsync(Slips.Refer("r-torn"), CancellationToken.None);
        var torn = await printer.NextSlipAsync();

        Assert.Equal(1, outcome.Pending);
        Assert.Equal([ConsoleConditions.PrinterOutOfPaper], _console.State.Attentions);

        queue.Start();
        printer.Status = PrinterStatus.Ready;
        var whole = await printer.NextSlipAsync();
        await _console.WaitForAsync(s => s.Attentions.IsEmpty);

        Assert.Equal(torn.Texts, whole.Texts);
        Assert.Equal(0, _store.CountPrintJobsPending());
        Assert.Equal("printer took it after 2 attempt(s)", Assert.Single(_store.Audit("r-torn"), a => a.Action == "slip-printed").Detail);
    }

    [Fact]
    public async Task SubmitAsync_CoverOpen_JobKeptWithCoverAttention()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath) { Status = PrinterStatus.Ready with { Offline = true, CoverOpen = true } };
        await using var queue = Queue(pty);

        var outcome = await queue.SubmitAsync(Slips.Refer("r-cover"), CancellationToken.None);

        Assert.Equal(1, outcome.Pending);
        Assert.Equal([ConsoleConditions.PrinterCoverOpen], _console.State.Attentions);
    }

    [Fact]
    public async Task SubmitAsync_PaperLow_PrintsAndRaisesPaperLow()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath) { Status = PrinterStatus.Ready with { PaperLow = true } };
        await using var queue = Queue(pty);

        var outcome = await queue.SubmitAsync(Slips.Refer("r-low"), CancellationToken.None);
        await printer.NextSlipAsync();

        Assert.True(outcome.AllPrinted);
        Assert.Equal([ConsoleConditions.PrinterPaperLow], _console.State.Attentions);
    }

    [Fact]
    public async Task SubmitAsync_PrinterGone_JobKeptWithOfflineAttentionAndPrintedWhenItReturns()
    {
        var pty = await PtyPair.StartAsync(_temp.Path);
        var appliancePath = pty.AppliancePath;
        await using var queue = new SlipPrintQueue(_store, StreamPrinterLink.Open(appliancePath, 9600), _console.ApplyAsync, NullLogger.Instance, TimeProvider.System, FastRetry);
        using (var first = new FakeEscPosPrinter(pty.PrinterPath))
        {
            await queue.SubmitAsync(Slips.Refer("r-before"), CancellationToken.None);
            await first.NextSlipAsync();
        }

        await pty.DisposeAsync();
        var outcome = await queue.SubmitAsync(Slips.Refer("r-gone"), CancellationToken.None);

        Assert.Equal(1, outcome.Pending);
        Assert.Equal([ConsoleConditions.PrinterOffline], _console.State.Attentions);

        queue.Start();
        await using var back = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(back.PrinterPath);
        var printed = await printer.NextSlipAsync();
        await _console.WaitForAsync(s => s.Attentions.IsEmpty);

        Assert.Equal(appliancePath, back.AppliancePath);
        Assert.Equal(["r-gone"], printed.QrCodes);
        Assert.Equal(0, _store.CountPrintJobsPending());
    }

    [Fact]
    public async Task Start_JobPendingFromAnEarlierRun_PrintedOnce()
    {
        // An earlier run queued the slip while the printer was unplugged, then stopped.
        await using (var earlier = new SlipPrintQueue(_store, StreamPrinterLink.Open(_temp.Combine("ttyEdgePrinter"), 9600), _console.ApplyAsync, NullLogger.Instance, TimeProvider.System))
        {
            Assert.Equal(1, (await earlier.SubmitAsync(Slips.Refer("r-restart"), CancellationToken.None)).Pending);
        }

        _store.Dispose();
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath);
        var link = StreamPrinterLink.Open(pty.AppliancePath, 9600);
        await using var queue = new SlipPrintQueue(_store, link, _console.ApplyAsync, NullLogger.Instance, TimeProvider.System, FastRetry);

        queue.Start();
        var printed = await printer.NextSlipAsync();
        var again = await queue.DrainAsync(CancellationToken.None);

        // A status answer comes after the printer has read everything sent before it: nothing more is on its way.
        Assert.True((await link.QueryStatusAsync(CancellationToken.None)).Answered);
        Assert.Equal(["r-restart"], printed.QrCodes);
        Assert.Equal(0, again.Printed);
        Assert.False(printer.Slips.TryRead(out _));
        Assert.Single(_store.Audit("r-restart"), a => a.Action == "slip-printed");
    }

    [Fact]
    public async Task SubmitAsync_PrinterNeverAnswersStatus_PrintsAnyway()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath) { Answers = false };
        await using var queue = new SlipPrintQueue(_store, StreamPrinterLink.Open(pty.AppliancePath, 115200, TimeSpan.FromMilliseconds(200)), _console.ApplyAsync, NullLogger.Instance, TimeProvider.System);

        var outcome = await queue.SubmitAsync(Slips.Refer("r-silent"), CancellationToken.None);
        var printed = await printer.NextSlipAsync();

        Assert.True(outcome.AllPrinted);
        Assert.Equal(["r-silent"], printed.QrCodes);
        Assert.True(printer.StatusRequests >= 2);
        Assert.Empty(_console.State.Attentions);
    }

    [Fact]
    public async Task ReprintAsync_PrintedSlip_PrinterGetsTheSameSlipAgain()
    {
        await using var pty = await PtyPair.StartAsync(_temp.Path);
        using var printer = new FakeEscPosPrinter(pty.PrinterPath);
        await using var queue = Queue(pty);
        await queue.SubmitAsync(Slips.Refer("r-first"), CancellationToken.None);
        await queue.SubmitAsync(Slips.Refer("r-second"), CancellationToken.None);
        var first = await printer.NextSlipAsync();
        await printer.NextSlipAsync();

        Assert.True(await queue.ReprintAsync("r-first", CancellationToken.None));
        Assert.True(await queue.ReprintLastAsync(CancellationToken.None));
        var reprinted = await printer.NextSlipAsync();
        var last = await printer.NextSlipAsync();

        Assert.Equal(first.Texts, reprinted.Texts);
        Assert.Equal(["r-second"], last.QrCodes);
        Assert.False(await queue.ReprintAsync("never-printed", CancellationToken.None));
        Assert.Contains(_store.Audit("r-first"), a => a.Action == "slip-reprinted");
    }

    private SlipPrintQueue Queue(PtyPair pty) =>
        new(_store, StreamPrinterLink.Open(pty.AppliancePath, 9600), _console.ApplyAsync, NullLogger.Instance, TimeProvider.System, FastRetry);
}

/// <summary>The console state the queue's attention events build, through the real state machine.</summary>
public sealed class ConsoleProbe
{
    private readonly Lock _lock = new();
    private readonly Channel<ConsoleState> _changes = Channel.CreateUnbounded<ConsoleState>();
    private ConsoleState _state = ConsoleState.Initial;

    public ConsoleState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    public ConsoleOutput Output => ConsoleMachine.Output(State, ConsoleSettings.Default);

    public Task ApplyAsync(ConsoleEvent change, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _state = ConsoleMachine.Apply(_state, change);
            _changes.Writer.TryWrite(_state);
        }

        return Task.CompletedTask;
    }

    public async Task WaitForAsync(Func<ConsoleState, bool> condition)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition(State))
        {
            await _changes.Reader.ReadAsync(guard.Token);
        }
    }
}
