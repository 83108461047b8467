using Edge.Domain;
using Edge.Imaging;
using Edge.Storage;

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
/// </summary>
public sealed class RecordStage(ScreeningStore store, Spool spool, ResultOutputs outputs, string siteId, string deviceId, TimeProvider clock) : IStage
{
    public string Name => "record";

    public bool RunsWhenSettled => true;

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var result = ScreeningResult.From(item, now);
        var heatmapPath = result.Heatmap is null ? null : outputs.HeatmapPathOf(result.Id);
        var line = ResultLine.From(result, heatmapPath).ToJson();
        var payload = SyncPayload.From(result, siteId, deviceId).ToJson();
        var outbox = new OutboxMessage(result.Id, $"tb/v1/{siteId}/{deviceId}/result", payload);
        bool fresh;
        try
        {
            fresh = store.Record(result, line, spool.ArchivePathOf(item.Received), outbox, now);
            spool.Archive(item.Received);
        }
        catch (IOException ex)
        {
            // Committed but not yet archived: the restart sweep archives it; until then it must not count as done here.
            throw new StorageException($"Could not archive image {item.Received.Id}: {ex.Message}", ex);
        }

        return ValueTask.FromResult(item with { Result = fresh ? result : null, ScreenedAt = now, Status = result.Status });
    }
}

/// <summary>Tells the technician: heatmap overlay, results log, slip, lights; then marks the result acted upon.</summary>
public sealed class ActStage(ConsoleIndicator console, ISlipPrinter printer, ResultOutputs outputs, ScreeningStore store, string siteId, TimeZoneInfo timeZone, TimeProvider clock) : IStage
{
    /// <summary>Big enough to see where the model looked on a tablet; the page renders full resolution itself.</summary>
    private const int OverlayMaxSide = 768;

    public string Name => "act";

    public bool RunsWhenSettled => true;

    public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        if (item.Result is not { } result)
        {
            // Already recorded by an earlier run: its actions were taken or audited then.
            await console.ImageLeftAsync(cancellationToken).ConfigureAwait(false);
            return item;
        }

        string? heatmapPath = null;
        if (result.Heatmap is { } heatmap && item.Image is { } image)
        {
            var overlay = HeatmapOverlay.Render(DisplayImage.Render(image, maxSide: OverlayMaxSide), heatmap, result.HeatmapWidth, result.HeatmapHeight);
            heatmapPath = outputs.HeatmapPathOf(result.Id);
            await File.WriteAllBytesAsync(heatmapPath, PngEncoder.Encode(overlay), cancellationToken).ConfigureAwait(false);
        }

        outputs.AppendResult(ResultLine.From(result with { Timings = item.Timings }, heatmapPath).ToJson());
        var slip = SlipComposer.Compose(result, siteId, timeZone);
        await printer.PrintAsync(slip, cancellationToken).ConfigureAwait(false);
        var light = await console.ResultSettledAsync(result, cancellationToken).ConfigureAwait(false);
        store.MarkActed(result.Id, [("printed", slip.Emphasise ? "refer slip" : "slip"), ("lights", light.ToString())], clock.GetUtcNow());
        return item;
    }
}

/// <summary>The console's facts and the lights that show them; one place so concurrent stages agree on what is shown.</summary>
public sealed class ConsoleIndicator(IStatusLights lights)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConsoleFacts _facts = ConsoleFacts.Idle;

    public ConsoleFacts Facts => _facts;

    public Task ImageEnteredAsync(CancellationToken cancellationToken) => UpdateAsync(f => f with { InProgress = f.InProgress + 1 }, cancellationToken);

    public Task ImageLeftAsync(CancellationToken cancellationToken) => UpdateAsync(f => f with { InProgress = Math.Max(0, f.InProgress - 1) }, cancellationToken);

    public Task<LightState> ResultSettledAsync(ScreeningResult result, CancellationToken cancellationToken) =>
        UpdateAsync(f => LightPolicy.After(f with { InProgress = Math.Max(0, f.InProgress - 1) }, result), cancellationToken);

    public Task<LightState> FaultAsync(bool fault, CancellationToken cancellationToken) => UpdateAsync(f => f with { Fault = fault }, cancellationToken);

    private async Task<LightState> UpdateAsync(Func<ConsoleFacts, ConsoleFacts> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _facts = change(_facts);
            var state = LightPolicy.Show(_facts);
            await lights.ShowAsync(state, cancellationToken).ConfigureAwait(false);
            return state;
        }
        finally
        {
            _gate.Release();
        }
    }
}
