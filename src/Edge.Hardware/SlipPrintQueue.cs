using System.Threading.Channels;
using Edge.Domain;
using Edge.Imaging;
using Microsoft.Extensions.Logging;

namespace Edge.Hardware;

/// <summary>What became of the queue when it last tried: every job printed, or the ones left and why.</summary>
public sealed record PrintOutcome(int Printed, int Pending, string? HeldBecause)
{
    public bool AllPrinted => Pending == 0;
}

public sealed class SlipPrintQueueOptions
{
    /// <summary>How often held jobs are tried again (paper changed, cover closed, cable back).</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where each slip's PNG preview and text go when queued (the simulator and the demo); null: none.</summary>
    public string? PreviewDirectory { get; init; }
}

/// <summary>
/// The slip printer as a persistent queue. A job is recorded (its exact bytes) before printing and marked printed only
/// after the bytes are written and the printer, where it answers DLE EOT, reports nothing against them. A printer out of
/// paper, with its cover open, offline or unplugged keeps its jobs and raises the attention light; once it is fine again
/// the kept jobs print in order and the light clears. Jobs left by an earlier run print once when the queue starts.
/// </summary>
public sealed partial class SlipPrintQueue : ISlipPrinter, IAsyncDisposable
{
    private static readonly string[] PrinterConditions =
        [ConsoleConditions.PrinterOffline, ConsoleConditions.PrinterOutOfPaper, ConsoleConditions.PrinterPaperLow, ConsoleConditions.PrinterCoverOpen];

    private readonly IPrintJournal _journal;
    private readonly IPrinterLink _link;
    private readonly Func<ConsoleEvent, CancellationToken, Task> _console;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly SlipPrintQueueOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _shown = new(StringComparer.Ordinal);
    private string? _lastHeld;
    private Task _loop = Task.CompletedTask;

    /// <param name="journal">Where jobs are kept (the record).</param>
    /// <param name="link">The printer.</param>
    /// <param name="console">Takes the attention events for the printer's conditions.</param>
    /// <param name="logger">Logs holds and recoveries, once each.</param>
    /// <param name="clock">Times in the journal and the retry delay.</param>
    /// <param name="options">Retry interval and preview folder.</param>
    public SlipPrintQueue(IPrintJournal journal, IPrinterLink link, Func<ConsoleEvent, CancellationToken, Task> console, ILogger logger, TimeProvider clock, SlipPrintQueueOptions? options = null)
    {
        _journal = journal;
        _link = link;
        _console = console;
        _logger = logger;
        _clock = clock;
        _options = options ?? new SlipPrintQueueOptions();
        if (_options.PreviewDirectory is { } previews)
        {
            Directory.CreateDirectory(previews);
        }
    }

    /// <summary>Starts the background loop: first the jobs an earlier run left, then held jobs every retry interval.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    public async ValueTask PrintAsync(Slip slip, CancellationToken cancellationToken) => await SubmitAsync(slip, cancellationToken).ConfigureAwait(false);

    /// <summary>Records the slip, writes its preview, and prints what the printer will take now.</summary>
    public async Task<PrintOutcome> SubmitAsync(Slip slip, CancellationToken cancellationToken)
    {
        await RecordAsync(slip, cancellationToken).ConfigureAwait(false);
        return await DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records the slip and its preview and leaves the printing to the loop: a slip takes seconds on a 9600 baud wire,
    /// and the screening pipeline must not wait for paper.
    /// </summary>
    public async Task EnqueueAsync(Slip slip, CancellationToken cancellationToken)
    {
        await RecordAsync(slip, cancellationToken).ConfigureAwait(false);
        Wake();
    }

    /// <summary>
    /// Prints a result's slip again (the page). False when that result never had a slip. A slip still waiting is not
    /// queued twice: it prints once the printer is back.
    /// </summary>
    public async Task<bool> ReprintAsync(string resultId, CancellationToken cancellationToken)
    {
        if (_journal.LastPrintJob(resultId) is not { } last)
        {
            return false;
        }

        if (!_journal.PendingPrintJobs().Any(j => j.ResultId == resultId))
        {
            _journal.EnqueuePrintJob(resultId, last.Bytes, reprint: true, _clock.GetUtcNow());
        }

        await DrainAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Prints the newest slip again (the button's long press); false when nothing was ever queued.</summary>
    public async ValueTask<bool> ReprintLastAsync(CancellationToken cancellationToken) =>
        _journal.LastPrintJob(null) is { } last && await ReprintAsync(last.ResultId, cancellationToken).ConfigureAwait(false);

    /// <summary>Prints waiting jobs in order until one cannot be printed; that one and those after it stay queued.</summary>
    public async Task<PrintOutcome> DrainAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pending = _journal.PendingPrintJobs();
            var printed = 0;
            foreach (var job in pending)
            {
                if (await PrintOneAsync(job, cancellationToken).ConfigureAwait(false) is { } held)
                {
                    if (held != _lastHeld)
                    {
                        LogHeld(_logger, pending.Count - printed, held);
                        _lastHeld = held;
                    }

                    return new PrintOutcome(printed, pending.Count - printed, held);
                }

                printed++;
            }

            if (_lastHeld is not null && printed > 0)
            {
                LogResumed(_logger, printed);
                _lastHeld = null;
            }

            return new PrintOutcome(printed, 0, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs until cancelled: drains, then waits for a new job or, while jobs are held, the retry interval.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                PrintOutcome outcome;
                try
                {
                    outcome = await DrainAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The journal failed (the record's own fault shows elsewhere): the jobs stay, try again later.
                    LogDrainFailed(_logger, ex.Message);
                    outcome = new PrintOutcome(0, 1, ex.Message);
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var woken = _wake.Reader.WaitToReadAsync(wait.Token).AsTask();
                if (outcome.AllPrinted)
                {
                    await woken.ConfigureAwait(false);
                }
                else
                {
                    await Task.WhenAny(woken, Task.Delay(_options.RetryInterval, _clock, wait.Token)).ConfigureAwait(false);
                }

                await wait.CancelAsync().ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Has the loop try now (e.g. the page says the paper was changed).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _link.Dispose();
        _stop.Dispose();
        _gate.Dispose();
    }

    private async Task RecordAsync(Slip slip, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(slip);
        _journal.EnqueuePrintJob(slip.ResultId, EscPos.Encode(slip), reprint: false, _clock.GetUtcNow());
        if (_options.PreviewDirectory is { } previews)
        {
            await File.WriteAllLinesAsync(Path.Combine(previews, slip.ResultId + ".txt"), slip.Lines, cancellationToken).ConfigureAwait(false);
            await File.WriteAllBytesAsync(Path.Combine(previews, slip.ResultId + ".png"), PngEncoder.Encode(SlipPreview.Render(slip)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Null when printed; else why the job stays.</summary>
    private async Task<string?> PrintOneAsync(PrintJob job, CancellationToken cancellationToken)
    {
        try
        {
            var before = await _link.QueryStatusAsync(cancellationToken).ConfigureAwait(false);
            if (!before.CanPrint)
            {
                await ShowAsync(before.Conditions, cancellationToken).ConfigureAwait(false);
                return before.Describe();
            }

            _journal.CountPrintAttempt(job.Sequence);
            await _link.WriteAsync(job, cancellationToken).ConfigureAwait(false);

            // A printer that stopped while taking the job (paper ran out mid-slip) prints it again whole later.
            var after = await _link.QueryStatusAsync(cancellationToken).ConfigureAwait(false);
            if (!after.CanPrint)
            {
                await ShowAsync(after.Conditions, cancellationToken).ConfigureAwait(false);
                return after.Describe();
            }

            _journal.MarkPrinted(job.Sequence, _clock.GetUtcNow());
            await ShowAsync(after.Conditions, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (HardwareException ex)
        {
            await ShowAsync(new HashSet<string> { ConsoleConditions.PrinterOffline }, cancellationToken).ConfigureAwait(false);
            return $"{ConsoleConditions.PrinterOffline}: {ex.Message}";
        }
    }

    /// <summary>Raises the printer conditions that now hold and clears the ones that no longer do.</summary>
    private async Task ShowAsync(IReadOnlySet<string> conditions, CancellationToken cancellationToken)
    {
        foreach (var name in PrinterConditions)
        {
            if (conditions.Contains(name) && _shown.Add(name))
            {
                await _console(new ConsoleEvent.AttentionRaised(name), cancellationToken).ConfigureAwait(false);
            }
            else if (!conditions.Contains(name) && _shown.Remove(name))
            {
                await _console(new ConsoleEvent.AttentionCleared(name), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slip printer: {Count} slip(s) kept until it is back: {Reason}")]
    private static partial void LogHeld(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Slip print queue could not be read: {Reason}")]
    private static partial void LogDrainFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slip printer back: {Count} kept slip(s) printed")]
    private static partial void LogResumed(ILogger logger, int count);
}
