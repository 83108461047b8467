using System.Diagnostics;
using System.Threading.Channels;
using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// Runs the stages, each on its own task, joined by bounded channels so a slow stage holds back intake instead of
/// filling memory. Cases leave in the order they entered. A stage whose work is independent of other cases
/// (<see cref="IStage.Parallelism"/> above one) works on several at once and still hands them on in order, so the
/// ordered stages after it (the console, the slip queue) see the images in the order they arrived. At most
/// <see cref="InFlightLimit"/> cases are between submission and the end of the last stage: each holds a decoded image
/// (32 MB for 4096 x 4096 at 16 bits) and its buffers, and on a small device more cases than cores only wait, in
/// memory, without finishing any sooner. (Freeing a case's place once its pixels are dropped, before the pictures, was
/// tried: peak RSS rose by about 90 MiB in ./edge bench e2e for no clear gain.)
/// </summary>
public sealed partial class ScreeningPipeline : IAsyncDisposable
{
    private const int ChannelCapacity = 1;
    private readonly SemaphoreSlim _inFlight;
    private readonly IReadOnlyList<IStage> _stages;
    private readonly ConsoleIndicator _console;
    private readonly ILogger _logger;
    private readonly Channel<ScreeningCase>[] _channels;
    private readonly Task[] _workers;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="inFlightLimit">Cases admitted at once; null: <see cref="InFlightLimit"/> for this machine's cores.</param>
    public ScreeningPipeline(IReadOnlyList<IStage> stages, ConsoleIndicator console, ILogger logger, int? inFlightLimit = null)
    {
        var limit = inFlightLimit ?? InFlightLimit(Environment.ProcessorCount, stages.Sum(s => Math.Max(1, s.Parallelism)));
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(inFlightLimit));
        _inFlight = new SemaphoreSlim(limit, limit);
        _stages = stages;
        _console = console;
        _logger = logger;
        _channels = new Channel<ScreeningCase>[stages.Count + 1];
        for (var i = 0; i < _channels.Length; i++)
        {
            _channels[i] = Channel.CreateBounded<ScreeningCase>(new BoundedChannelOptions(ChannelCapacity) { SingleReader = true, SingleWriter = i != 0 });
        }

        _workers = [.. stages.Select((stage, i) => Task.Run(() => RunStageAsync(stage, _channels[i].Reader, _channels[i + 1].Writer, i == stages.Count - 1, _stop.Token)))];
    }

    /// <summary>
    /// How many cases may be in the stages at once: one per core keeps every core busy, one more keeps a core from
    /// idling while a case is read from disk or committed; more than one per stage slot (a parallel stage has several)
    /// only queues. At least two so that intake of the next image overlaps the previous one even on a single core.
    /// </summary>
    public static int InFlightLimit(int processorCount, int stageSlots) =>
        Math.Max(2, Math.Min(processorCount + 1, stageSlots));

    /// <summary>Finished cases, recorded and acted upon.</summary>
    public ChannelReader<ScreeningCase> Completed => _channels[^1].Reader;

    public ValueTask SubmitAsync(ReceivedImage image, CancellationToken cancellationToken) => SubmitAsync(new ScreeningCase { Received = image }, cancellationToken);

    /// <summary>A case made before the pipeline, e.g. an assembled CT series.</summary>
    public async ValueTask SubmitAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        await _console.ImageEnteredAsync(cancellationToken).ConfigureAwait(false);

        // Waiting here holds back the intake loop: later images wait in the spool (already answered and durable), not decoded in memory.
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _channels[0].Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _inFlight.Release();
            throw;
        }
    }

    /// <summary>Every stage's worker is still going (none has ended or died); what the service watchdog vouches for.</summary>
    public bool IsRunning => Array.TrueForAll(_workers, w => !w.IsCompleted);

    /// <summary>No more input: the stages drain what they hold, then <see cref="Completed"/> ends.</summary>
    public void CompleteInput() => _channels[0].Writer.TryComplete();

    public async ValueTask DisposeAsync()
    {
        CompleteInput();
        try
        {
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _inFlight.Dispose();
    }

    private async Task RunStageAsync(IStage stage, ChannelReader<ScreeningCase> input, ChannelWriter<ScreeningCase> output, bool last, CancellationToken cancellationToken)
    {
        try
        {
            if (stage.Parallelism > 1)
            {
                await RunInParallelAsync(stage, input, output, last, cancellationToken).ConfigureAwait(false);
                return;
            }

            await foreach (var item in input.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await RunOneAsync(stage, item, cancellationToken).ConfigureAwait(false) is { } next)
                {
                    LeaveIfLast(last);
                    await output.WriteAsync(next, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            output.TryComplete();
        }
    }

    /// <summary>
    /// Up to <see cref="IStage.Parallelism"/> cases in the stage at once, handed on in the order they came in: each case
    /// starts as soon as a slot is free, and the results are awaited in arrival order. A slot is freed only when its
    /// case is handed on, so a slow case holds at most that many behind it, never an unbounded queue.
    /// </summary>
    private async Task RunInParallelAsync(IStage stage, ChannelReader<ScreeningCase> input, ChannelWriter<ScreeningCase> output, bool last, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(stage.Parallelism, stage.Parallelism);
        var started = Channel.CreateUnbounded<Task<ScreeningCase?>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var feeder = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var item in input.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    {
                        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                        started.Writer.TryWrite(Task.Run(() => RunOneAsync(stage, item, cancellationToken).AsTask(), cancellationToken));
                    }
                }
                finally
                {
                    started.Writer.TryComplete();
                }
            },
            cancellationToken);

        await foreach (var running in started.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var next = await running.ConfigureAwait(false);
            slots.Release();
            if (next is not null)
            {
                LeaveIfLast(last);
                await output.WriteAsync(next, cancellationToken).ConfigureAwait(false);
            }
        }

        await feeder.ConfigureAwait(false);
    }

    /// <summary>One case through one stage, timed; null when the record could not be written and the case stays in the spool.</summary>
    private async ValueTask<ScreeningCase?> RunOneAsync(IStage stage, ScreeningCase item, CancellationToken cancellationToken)
    {
        if (item.IsSettled && !stage.RunsWhenSettled)
        {
            return item;
        }

        var watch = Stopwatch.StartNew();
        ScreeningCase next;
        try
        {
            next = await stage.RunAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex)
        {
            // The image stays in the spool and is screened again after the fault is cleared or on restart.
            LogRecordFailed(_logger, item.Received.Id, stage.Name, Reason(ex, item));
            await _console.FaultAsync(true, cancellationToken).ConfigureAwait(false);
            await _console.ImageLeftAsync(cancellationToken).ConfigureAwait(false);
            _inFlight.Release();
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !item.IsSettled)
        {
            var reason = Reason(ex, item);
            LogStageFailed(_logger, item.Received.Id, stage.Name, ex.GetType().Name, reason);
            next = item.Fail($"{stage.Name} failed: {reason}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Acting failed (printer, overlay): the result is safe in the record; say so and carry on.
            LogStageFailed(_logger, item.Received.Id, stage.Name, ex.GetType().Name, Reason(ex, item));
            next = item;
        }

        return next.WithTiming(stage.Name, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>A case done with the last stage no longer counts against the limit, whether or not anyone has read it yet.</summary>
    private void LeaveIfLast(bool last)
    {
        if (last)
        {
            _inFlight.Release();
        }
    }

    /// <summary>
    /// The exception's message without the image's paths or original name (of every slice, for a CT series): a file
    /// name may be the patient's, and the reason is logged and kept with the result. The id names the image instead.
    /// </summary>
    private static string Reason(Exception ex, ScreeningCase item) =>
        Spool.WithoutNames(ex.Message, [item.Received.SpoolPath, item.Received.OriginalName, .. (item.Series?.Images ?? []).SelectMany(i => new[] { i.SpoolPath, i.OriginalName })]);

    [LoggerMessage(Level = LogLevel.Error, Message = "Image {Id}: {Stage} failed ({Kind}): {Reason}")]
    private static partial void LogStageFailed(ILogger logger, string id, string stage, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Image {Id} could not be recorded ({Stage}): {Reason}. It stays in the spool.")]
    private static partial void LogRecordFailed(ILogger logger, string id, string stage, string reason);
}
