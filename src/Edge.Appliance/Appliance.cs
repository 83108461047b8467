using Edge.Dicom;
using Edge.Dicom.Results;
using Edge.Domain;
using Edge.Hardware;
using Edge.Inference;
using Edge.Storage;
using Edge.Sync;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// The appliance assembled from its options: record, spool, model, console, and the pipeline composed in one place.
/// Every verb (run, screen, the demo) screens through this same object.
/// </summary>
public sealed partial class Appliance : IAsyncDisposable
{
    private readonly ILogger _logger;

    private Appliance(EdgeOptions options, ILoggerFactory loggers, ScreeningStore store, Spool spool, ModelBundle bundle, OnnxScorer scorer, ConsolePanel lights, IPrinterLink printerLink, SlipPrintQueueOptions printing, ResultOutputs outputs, ThresholdInForce threshold, PatientPseudonym? pseudonym)
    {
        Options = options;
        _logger = loggers.CreateLogger("Edge.Appliance");
        Store = store;
        Spool = spool;
        Bundle = bundle;
        Scorer = scorer;
        Lights = lights;
        Outputs = outputs;
        Threshold = threshold;
        Console = new ConsoleIndicator(lights, new ConsoleSettings(options.Hardware.MuteReferBuzzer, options.Hardware.MuteFaultBuzzer));
        var model = threshold.Model;
        var clock = TimeProvider.System;
        Printer = new SlipPrintQueue(store, printerLink, (change, ct) => Console.ApplyAsync(change, ct), loggers.CreateLogger("Edge.Printer"), clock, printing);
        CtSeries = new CtSeriesAssembler(options.Dicom.CtSeriesQuietPeriod, clock);
        SlipPreviews = printing.PreviewDirectory;
        ThresholdOverrides = new RecordedThresholdOverrides(store, threshold, clock, (applied, inForce, detail) => SyncCommands.ThresholdNotice(options.Mqtt.TopicRoot, options.Site.Id, options.Device.Id, applied, inForce, detail));

        // The screening pipeline, in order. Intake and the console adapters are ports; see each stage for its one job.
        IStage[] stages =
        [
            new IntakeStage(new ImageFileReader(), store, clock, ChildProcessDecode.ForThisExecutable()),
            new CtSeriesStage(CtSeries),
            new QualityStage(options.Quality.ToLimits()),
            new PreprocessStage(new Preprocessor(bundle.Manifest.Preprocessing)),
            new InferStage(scorer, model),
            new DecideStage(threshold),
            new RecordStage(store, spool, outputs, options.Mqtt.TopicRoot, options.Site.Id, options.Device.Id, pseudonym, clock),
            new PicturesStage(outputs, DicomResults(options, store, spool, loggers, clock), PicturesStage.ParallelismFor(Environment.ProcessorCount)),
            new ActStage(Console, Printer, outputs, store, new SlipSettings(options.Hardware.SiteName ?? options.Site.Id, options.SiteTimeZone(), options.Hardware.Language(), options.Hardware.ShowExamReference), clock),
        ];
        Pipeline = new ScreeningPipeline(stages, Console, _logger);
    }

    public EdgeOptions Options { get; }

    public ScreeningStore Store { get; }

    public Spool Spool { get; }

    public ModelBundle Bundle { get; }

    public OnnxScorer Scorer { get; }

    /// <summary>Lights, buzzer and button on the board profile's GPIO lines (the simulator's current levels for the page).</summary>
    public ConsolePanel Lights { get; }

    /// <summary>The persistent slip queue in front of the printer; <see cref="SlipPrintQueue.ReprintAsync"/> for the page.</summary>
    public SlipPrintQueue Printer { get; }

    public ConsoleIndicator Console { get; }

    public ResultOutputs Outputs { get; }

    public ScreeningPipeline Pipeline { get; }

    /// <summary>The threshold decisions use now; a command from the programme can change it (<see cref="SyncCommands"/>).</summary>
    public ThresholdInForce Threshold { get; }

    /// <summary>CT slices waiting for their series to go quiet (only while <c>run</c> accepts them).</summary>
    public CtSeriesAssembler CtSeries { get; }

    private static DicomResultOutput DicomResults(EdgeOptions options, ScreeningStore store, Spool spool, ILoggerFactory loggers, TimeProvider clock)
    {
        var writer = new DicomResultWriter(new DicomResultOptions
        {
            SiteId = options.Site.Id,
            DeviceId = options.Device.Id,
            SoftwareVersion = Cli.FirmwareVersion,
            Language = options.Hardware.SlipLanguage,
            TimeZone = options.SiteTimeZone(),
        });
        var directory = Path.Combine(options.Output.Path, "dicom");
        Directory.CreateDirectory(directory);
        return new DicomResultOutput(writer, spool, store, directory, [.. options.Dicom.Destinations.Select(d => d.ToString())], loggers.CreateLogger("Edge.DicomResults"), clock);
    }

    /// <exception cref="ModelBundleException">No trusted bundle could be loaded.</exception>
    /// <exception cref="StorageException">The record cannot be opened.</exception>
    public static Appliance Start(EdgeOptions options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("Edge.Appliance");
        var pseudonym = LoadPseudonym(options);
        var lights = ConsolePanel.Open(BoardProfile.Load(options.Hardware.Profile), TimeProvider.System, options.Hardware.LightsLog);
        lights.Start();
        var selection = SelectBundle(options, logger);
        if (selection.Bundle is not { } bundle)
        {
            lights.ShowAsync(new ConsoleOutput(LightState.Fault, LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz, LightPattern.Off, options.Hardware.MuteFaultBuzzer ? BuzzerPattern.None : BuzzerPattern.Fault), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            throw new ModelBundleException(string.Join(Environment.NewLine, selection.Refused.Select(r => r.Reason)));
        }

        var store = ScreeningStore.Open(Path.Combine(options.Storage.Path, "edge.db"));
        try
        {
            var spool = new Spool(options.Storage.Path);
            var scorer = OnnxScorer.Create(bundle, options.InferenceSettings(), logger);
            var warmUp = scorer.WarmUp();
            LogModelReady(logger, bundle.Manifest.Name, bundle.Manifest.Version, scorer.ProviderName, warmUp.TotalMilliseconds);
            // A real printer is opened when first needed, so one that is off at start raises attention, not a failed start.
            var slips = options.Hardware.SlipDirectory ?? Path.Combine(options.Output.Path, "slips");
            IPrinterLink printer = options.Hardware.PrinterPort is { } port ? StreamPrinterLink.Open(port, options.Hardware.PrinterBaudRate) : new FolderPrinterLink(slips);
            var printing = new SlipPrintQueueOptions { PreviewDirectory = options.Hardware.PrinterPort is null ? slips : null };
            var threshold = new ThresholdInForce(new ModelIdentity(bundle.Manifest.Name, bundle.Manifest.Version, bundle.Manifest.Sha256), bundle.Manifest.Threshold, options.Decision.Threshold, store.CurrentThresholdOverride());
            if (threshold.StoredOverrideLapsed)
            {
                LogThresholdOverrideLapsed(logger, bundle.Manifest.Version);
            }

            AuditThresholdInForce(store, threshold);
            var appliance = new Appliance(options, loggers, store, spool, bundle, scorer, lights, printer, printing, new ResultOutputs(options.Output.Path), threshold, pseudonym);
            var console = appliance.Console;
            (selection.Refused.Count > 0 ? console.ApplyAsync(new ConsoleEvent.FaultRaised(ConsoleConditions.ModelRefused), CancellationToken.None) : console.ShowAsync(CancellationToken.None)).GetAwaiter().GetResult();

            // Ends when the panel is disposed and its gesture channel completes.
            _ = console.FollowButtonAsync(lights.Gestures, appliance.Printer.ReprintLastAsync, CancellationToken.None);

            // Slips an earlier run left unprinted go out first, once each.
            appliance.Printer.Start();
            return appliance;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Audits the threshold whenever the one in force differs from the last audited: a new bundle, a site calibration or a command.</summary>
    private static void AuditThresholdInForce(ScreeningStore store, ThresholdInForce threshold)
    {
        var detail = threshold.AuditDetail();
        if (store.LastAuditDetail("threshold-changed") != detail)
        {
            store.AppendAudit("threshold-changed", "decision", detail, TimeProvider.System.GetUtcNow());
        }
    }

    /// <summary>The site's pseudonym key (<c>Edge:Sync:PseudonymKeyPath</c>), checked at start; null when none is configured.</summary>
    private static PatientPseudonym? LoadPseudonym(EdgeOptions options)
    {
        try
        {
            return string.IsNullOrWhiteSpace(options.Sync.PseudonymKeyPath) ? null : PatientPseudonym.Load(options.Sync.PseudonymKeyPath);
        }
        catch (SyncException ex)
        {
            throw new ConfigurationException([$"Edge:Sync:PseudonymKeyPath: {ex.Message}"]);
        }
    }

    /// <summary>Chooses the bundle and reports each refused one; a refusal keeps the fault light on while the previous bundle serves.</summary>
    public static BundleSelection SelectBundle(EdgeOptions options, ILogger logger)
    {
        using var key = ModelBundle.LoadPublicKey(options.Model.PublicKeyPath);
        var selection = BundleCatalog.Select(options.Model.Path, key);
        foreach (var refusal in selection.Refused)
        {
            LogBundleRefused(logger, refusal.Reason);
        }

        return selection;
    }

    /// <summary>
    /// Restart recovery: every image still in the spool is registered and queued again, unless its result was committed
    /// before the crash (then it is only archived). Results whose console actions were cut short are audited as such.
    /// </summary>
    public IReadOnlyList<ReceivedImage> Recover()
    {
        var now = TimeProvider.System.GetUtcNow();
        var queue = new List<ReceivedImage>();
        foreach (var waiting in Spool.Waiting())
        {
            var image = Store.Register(waiting, now);
            if (Store.HasResult(image.Id) || Store.IsInRecordedSeries(image.Id, image.ReceivedAt))
            {
                Spool.Archive(image);
            }
            else
            {
                queue.Add(image);
            }
        }

        foreach (var id in Store.UnactedResultIds())
        {
            Store.MarkActed(id, [("action-interrupted", "restart before the slip and lights were updated; reprint from the page")], now);
        }

        if (queue.Count > 0)
        {
            LogRecovered(_logger, queue.Count);
        }

        return queue;
    }

    /// <summary>Copies a file into the spool and registers it: from here on a crash cannot lose it.</summary>
    public async Task<ReceivedImage> AdmitFileAsync(string path, IntakeSource source, CancellationToken cancellationToken)
    {
        var now = TimeProvider.System.GetUtcNow();
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
        var image = await Spool.AdmitCopyAsync(stream, Path.GetFileName(path), source, now, cancellationToken).ConfigureAwait(false);
        return Store.Register(image, now);
    }

    /// <summary>Takes a file over by rename (watched folder, DICOM receiver), then registers it.</summary>
    public ReceivedImage AdmitMove(string path, IntakeSource source, string? originalName = null)
    {
        var now = TimeProvider.System.GetUtcNow();
        var image = Spool.AdmitMove(path, source, now, originalName);
        return Store.Register(image, now);
    }

    /// <summary>The line printed and logged for a finished case, with every stage's time.</summary>
    public ResultLine LineFor(ScreeningCase item)
    {
        var result = item.Result ?? ScreeningResult.From(item, item.ScreenedAt ?? TimeProvider.System.GetUtcNow());
        var heatmap = result.Heatmap is null ? null : Outputs.HeatmapPathOf(result.Id);
        return ResultLine.From(result with { Timings = item.Timings }, heatmap);
    }

    public async ValueTask DisposeAsync()
    {
        await Pipeline.DisposeAsync().ConfigureAwait(false);
        await Printer.DisposeAsync().ConfigureAwait(false);
        await Lights.DisposeAsync().ConfigureAwait(false);
        Scorer.Dispose();
        Store.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} {Version} ready on {Provider} (warm-up {WarmUpMs:0} ms)")]
    private static partial void LogModelReady(ILogger logger, string name, string version, string provider, double warmUpMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The programme's threshold was calibrated for another model; model {Version} decides at the configured threshold until the programme sets one for it")]
    private static partial void LogThresholdOverrideLapsed(ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model bundle refused: {Reason}")]
    private static partial void LogBundleRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered {Count} image(s) left in the spool by an earlier stop")]
    private static partial void LogRecovered(ILogger logger, int count);
}
