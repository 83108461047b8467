using Edge.Dicom.Results;
using Edge.Domain;
using Edge.Hardware;
using Edge.Imaging;
using Edge.Storage;
using Edge.Sync;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>Files a result produces besides the record: heatmap overlays and the results log.</summary>
public sealed class ResultOutputs
{
    private readonly Lock _lock = new();

    public ResultOutputs(string directory)
    {
        Directory = directory;
        HeatmapDirectory = Path.Combine(directory, "heatmaps");
        System.IO.Directory.CreateDirectory(HeatmapDirectory);
        ResultsLog = Path.Combine(directory, "results.jsonl");
    }

    public string Directory { get; }

    public string HeatmapDirectory { get; }

    public string ResultsLog { get; }

    public string HeatmapPathOf(string id) => Path.Combine(HeatmapDirectory, id + ".png");

    public void AppendResult(string jsonLine)
    {
        lock (_lock)
        {
            File.AppendAllText(ResultsLog, jsonLine + "\n");
        }
    }
}

/// <summary>
/// Commits the outcome: result, audit line and outbox message in one transaction, then moves the image to the archive.
/// Recording comes before acting so that a crash after the commit repeats at most the console actions, never the screening.
/// The image's intake features for the drift summary go in just before (a restart keeps the first; unrecorded ones are not counted).
/// </summary>
public sealed class RecordStage(ScreeningStore store, Spool spool, ResultOutputs outputs, string topicRoot, string siteId, string deviceId, PatientPseudonym? pseudonym, TimeProvider clock) : IStage
{
    public string Name => "record";

    public bool RunsWhenSettled => true;

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        if (item.HeldForSeries)
        {
            // Stays in the spool until its series is recorded.
            return ValueTask.FromResult(item);
        }

        var now = clock.GetUtcNow();
        var result = ScreeningResult.From(item, now);
        var heatmapPath = result.Heatmap is null ? null : outputs.HeatmapPathOf(result.Id);
        var line = ResultLine.From(result, heatmapPath).ToJson();
        var payload = SyncPayload.From(result, siteId, deviceId, pseudonym).ToJson();
        var outbox = new OutboxMessage(result.Id, $"{topicRoot}/{siteId}/{deviceId}/result", payload);
        bool fresh;
        if (item.Image is { } decoded)
        {
            store.RecordDriftSample(DriftFeatures.Of(result.Id, decoded), now);
        }

        try
        {
            fresh = store.Record(result, line, spool.ArchivePathOf(item.Received), outbox, now);
            spool.Archive(item.Received);
            foreach (var image in item.Series?.Images ?? [])
            {
                // The result line lists every image, so a crash in this loop is finished by the restart sweep.
                spool.Archive(image);
            }
        }
        catch (IOException ex)
        {
            // Committed but not yet archived: the restart sweep archives it; until then it must not count as done here.
            throw new StorageException($"Could not archive image {item.Received.Id}: {ex.Message}", ex);
        }

        return ValueTask.FromResult(item with { Result = fresh ? result : null, ScreenedAt = now, Status = result.Status });
    }
}

/// <summary>
/// The pictures a recorded result produces: the display image, the slip thumbnail, the heatmap overlay (PNG for the page
/// and the outputs folder) and, for a DICOM image, the SR and Secondary Capture queued for the destinations. This is the
/// heavy part of acting (tens to hundreds of milliseconds of CPU per image) and depends on no other image, so it runs
/// on several cases at once (<see cref="Parallelism"/>) after the commit and before the ordered <see cref="ActStage"/>.
/// It is the last stage that needs the decoded pixels, so it drops them: the record holds what the rest needs.
/// <para>
/// Durability is as before: everything here happens after the result is committed and before
/// <see cref="ScreeningStore.MarkActed"/>, so a crash in between is found on restart (<c>action-interrupted</c>) and
/// the result is not screened again. Writing the files twice is harmless (same name, same content); the DICOM send
/// queue ignores a second entry for the same result, file and destination.
/// </para>
/// </summary>
public sealed class PicturesStage(ResultOutputs outputs, DicomResultOutput dicomResults, int parallelism) : IStage
{
    /// <summary>Big enough to see where the model looked on a tablet; the page renders full resolution itself.</summary>
    private const int OverlayMaxSide = 768;

    public string Name => "pictures";

    public bool RunsWhenSettled => true;

    public int Parallelism => parallelism;

    /// <summary>One case per core, at most four: beyond that each extra case only holds another decoded image in memory.</summary>
    public static int ParallelismFor(int processorCount) => Math.Clamp(processorCount, 1, 4);

    public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        if (item.Result is not { } result)
        {
            // Held for a series, not stored, or recorded by an earlier run: nothing to show, and the header may still be wanted.
            return item;
        }

        if (result.Heatmap is not { } heatmap || item.Image is not { } shown)
        {
            return item with { Image = null };
        }

        var display = DisplayImage.Render(shown, maxSide: OverlayMaxSide);

        // The record holds the header and identity from here on; the full-resolution pixels are no longer needed.
        item = item with { Image = null, SlipPicture = SlipThumbnail.Render(display, heatmap, result.HeatmapWidth, result.HeatmapHeight) };
        var overlay = HeatmapOverlay.Render(display, heatmap, result.HeatmapWidth, result.HeatmapHeight);
        var heatmapPath = outputs.HeatmapPathOf(result.Id);
        await File.WriteAllBytesAsync(heatmapPath, PngEncoder.Encode(overlay), cancellationToken).ConfigureAwait(false);
        item = item with { HeatmapPath = heatmapPath };
        await dicomResults.WriteAsync(shown.Header, item.Received, result, overlay, cancellationToken).ConfigureAwait(false);
        return item;
    }
}

/// <summary>
/// Tells the technician, one image at a time in the order they arrived: lights, then the slip into the print queue, the
/// results log, and the acted mark. The pictures were made by <see cref="PicturesStage"/>; what is left here is cheap,
/// so the ordered part of acting no longer holds back the images behind it.
/// </summary>
public sealed class ActStage(ConsoleIndicator console, SlipPrintQueue printer, ResultOutputs outputs, ScreeningStore store, SlipSettings slipSettings, TimeProvider clock) : IStage
{
    public string Name => "act";

    public bool RunsWhenSettled => true;

    public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        if (item.Result is not { } result)
        {
            // Already recorded by an earlier run: its actions were taken or audited then.
            await console.ImageLeftAsync(cancellationToken).ConfigureAwait(false);
            return item;
        }

        // Lights before paper: a jammed printer must not keep a referral off the tower.
        var light = await console.ResultSettledAsync(result, cancellationToken).ConfigureAwait(false);
        var slip = SlipComposer.Compose(result, slipSettings, item.SlipPicture);

        // Recorded in the print queue, printed by its loop: kept (with the attention light) while the printer cannot take it.
        await printer.EnqueueAsync(slip, cancellationToken).ConfigureAwait(false);

        // The results log is written from inside this stage, so it carries this stage's own time so far (all but the acted mark).
        var timings = item.WithTiming(Name, clock.GetElapsedTime(started).TotalMilliseconds).Timings;
        outputs.AppendResult(ResultLine.From(result with { Timings = timings }, item.HeatmapPath).ToJson());
        store.MarkActed(result.Id, [("slip-queued", slip.Emphasise ? "refer slip" : "slip"), ("lights", light.ToString())], clock.GetUtcNow());
        return item;
    }
}

/// <summary>
/// The DICOM answer to a DICOM image: an SR and a Secondary Capture beside the source study, kept under the outputs and
/// queued (durably, in the record) for every configured destination.
/// </summary>
public sealed partial class DicomResultOutput(DicomResultWriter writer, Spool spool, ScreeningStore store, string directory, IReadOnlyList<string> destinations, ILogger logger, TimeProvider clock)
{
    public async Task WriteAsync(ImageHeader header, ReceivedImage received, ScreeningResult result, RgbImage overlay, CancellationToken cancellationToken)
    {
        if (header.Format != ImageFormat.Dicom || ScreeningReport.From(result) is not { } report)
        {
            return;
        }

        try
        {
            // The record stage has archived the source by now.
            var files = await writer.WriteAsync(spool.ArchivePathOf(received), report, overlay, directory, cancellationToken).ConfigureAwait(false);
            if (destinations.Count > 0)
            {
                store.EnqueueDicomSends(result.Id, [files.StructuredReportPath, files.SecondaryCapturePath], destinations, clock.GetUtcNow());
            }
        }
        catch (DicomResultException ex)
        {
            LogWriteFailed(logger, result.Id, ex.Message);
            store.AppendAudit("dicom-results-failed", result.Id, ex.Message, clock.GetUtcNow());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Result {Id}: DICOM result objects not written: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string id, string reason);
}

/// <summary>
/// The console's state and the outputs that show it; one place so concurrent stages, the button and the page agree.
/// Every change goes through <see cref="ConsoleMachine"/>, the pure state machine.
/// </summary>
public sealed class ConsoleIndicator(IStatusLights lights, ConsoleSettings? settings = null)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConsoleSettings _settings = settings ?? ConsoleSettings.Default;
    private ConsoleState _state = ConsoleState.Initial;

    public ConsoleState State => _state;

    public ConsoleOutput Output => ConsoleMachine.Output(_state, _settings);

    /// <summary>Raised after each change has been shown (the page refreshes its lights).</summary>
    public event Action? Changed;

    public Task ImageEnteredAsync(CancellationToken cancellationToken) => ApplyAsync(new ConsoleEvent.ImageReceived(), cancellationToken);

    public Task ImageLeftAsync(CancellationToken cancellationToken) => ApplyAsync(new ConsoleEvent.ImageLeft(), cancellationToken);

    public Task<LightState> ResultSettledAsync(ScreeningResult result, CancellationToken cancellationToken) =>
        ApplyAsync(result.Status == ScreeningStatus.Screened && result.Decision is { } d ? new ConsoleEvent.Screened(d.Referral) : new ConsoleEvent.NotScreened(), cancellationToken);

    /// <summary>The record cannot be written: the storage fault, raised or cleared.</summary>
    public Task<LightState> FaultAsync(bool fault, CancellationToken cancellationToken) =>
        ApplyAsync(fault ? new ConsoleEvent.FaultRaised(ConsoleConditions.Storage) : new ConsoleEvent.FaultCleared(ConsoleConditions.Storage), cancellationToken);

    /// <summary>The button's short press or the page's acknowledge.</summary>
    public Task<LightState> AcknowledgeAsync(CancellationToken cancellationToken) => ApplyAsync(new ConsoleEvent.Acknowledged(), cancellationToken);

    /// <summary>Shows the current state again, e.g. once at start.</summary>
    public Task<LightState> ShowAsync(CancellationToken cancellationToken) => ApplyAsync(new ConsoleEvent.SyncChanged(_state.Sync), cancellationToken);

    public async Task<LightState> ApplyAsync(ConsoleEvent change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var changed = false;
        try
        {
            _state = ConsoleMachine.Apply(_state, change);
            var output = ConsoleMachine.Output(_state, _settings);
            await lights.ShowAsync(output, cancellationToken).ConfigureAwait(false);
            changed = true;
            return output.State;
        }
        finally
        {
            _gate.Release();
            if (changed)
            {
                Changed?.Invoke();
            }
        }
    }

    /// <summary>
    /// Acts on button gestures until the reader completes (the panel is disposed): a short press acknowledges,
    /// a long press reprints the last slip.
    /// </summary>
    public async Task FollowButtonAsync(System.Threading.Channels.ChannelReader<ButtonGesture> gestures, Func<CancellationToken, ValueTask<bool>> reprintLast, CancellationToken cancellationToken)
    {
        await foreach (var gesture in gestures.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (gesture == ButtonGesture.ShortPress)
            {
                await AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                await reprintLast(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                await ApplyAsync(new ConsoleEvent.AttentionRaised(ConsoleConditions.PrinterOffline), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
