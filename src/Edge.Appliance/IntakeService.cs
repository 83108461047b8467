using System.Net;
using System.Threading.Channels;
using Edge.Dicom.Network;
using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// The <c>run</c> loop: re-queues what a previous stop left in the spool, then screens what arrives from the console's
/// DICOM C-STORE and from the watched folder (a USB stick or a share) until stopped.
/// </summary>
public sealed partial class IntakeService(Appliance appliance, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Edge.Intake");
    private readonly Channel<ReceivedImage> _arrivals = Channel.CreateUnbounded<ReceivedImage>();
    private int _inFlight;

    /// <param name="untilIdle">Stop once nothing is waiting and everything taken is finished (the demo and tests).</param>
    public async Task<IReadOnlyList<ResultLine>> RunAsync(bool untilIdle, CancellationToken cancellationToken)
    {
        var options = appliance.Options;
        Directory.CreateDirectory(options.Intake.WatchPath);
        var lines = new List<ResultLine>();
        var draining = DrainAsync(lines);
        var forwarder = new DicomForwarder(appliance.Store, options.Dicom.Destinations, options.Dicom.AeTitle, loggers.CreateLogger("Edge.DicomForwarder"), TimeProvider.System);
        using var stopForwarding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var forwarding = options.Dicom.Destinations.Count > 0 ? forwarder.RunAsync(stopForwarding.Token) : Task.CompletedTask;
        DicomScp? scp = null;
        await using var sync = await SyncRunner.StartAsync(appliance, loggers, cancellationToken).ConfigureAwait(false);
        var series = appliance.CtSeries;
        series.Accepting = true;
        try
        {
            // The spool is registered first (so a console resending an object it got no answer for is recognised), then
            // the listener opens before the backlog is queued: queuing waits on the pipeline, and a console must not be
            // refused for as long as a crash's backlog takes to screen. What it sends meanwhile waits in the arrivals.
            var recovered = appliance.Recover();
            scp = await StartDicomAsync(cancellationToken).ConfigureAwait(false);
            foreach (var image in recovered)
            {
                await SubmitAsync(image, cancellationToken).ConfigureAwait(false);
            }

            LogWatching(_logger, options.Intake.WatchPath);
            while (!cancellationToken.IsCancellationRequested)
            {
                var taken = 0;
                while (_arrivals.Reader.TryRead(out var received))
                {
                    await SubmitAsync(received, cancellationToken).ConfigureAwait(false);
                    taken++;
                }

                foreach (var quiet in series.TakeDue())
                {
                    LogSeriesAssembled(_logger, quiet.Images[0].Id, quiet.Images.Count);
                    await SubmitAsync(new ScreeningCase { Received = quiet.Images[0], Series = quiet }, cancellationToken).ConfigureAwait(false);
                    taken++;
                }

                foreach (var file in SettledFiles(options.Intake.WatchPath, options.Intake.SettleTime))
                {
                    try
                    {
                        await SubmitAsync(appliance.AdmitMove(file, IntakeSource.WatchFolder), cancellationToken).ConfigureAwait(false);
                        taken++;
                    }
                    catch (StorageException ex)
                    {
                        LogAdmitFailed(_logger, ex.Message);
                    }
                }

                if (untilIdle && taken == 0 && Volatile.Read(ref _inFlight) == 0 && series.PendingImages == 0)
                {
                    break;
                }

                // Wake for a DICOM arrival at once; poll the folder at its interval, sooner when a CT series falls due.
                var pause = untilIdle && taken == 0 ? TimeSpan.FromMilliseconds(100) : options.Intake.PollInterval;
                if (series.UntilNextDue is { } due && due < pause)
                {
                    pause = due;
                }

                await Task.WhenAny(_arrivals.Reader.WaitToReadAsync(cancellationToken).AsTask(), Task.Delay(pause, cancellationToken)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: images already taken finish; anything not yet taken stays in the folder or the spool.
        }
        finally
        {
            if (scp is not null)
            {
                appliance.DicomPort = null;
                await scp.DisposeAsync().ConfigureAwait(false);
            }
        }

        appliance.Pipeline.CompleteInput();
        await draining.ConfigureAwait(false);
        await stopForwarding.CancelAsync().ConfigureAwait(false);
        await forwarding.ConfigureAwait(false);
        if (untilIdle && options.Dicom.Destinations.Count > 0 && !cancellationToken.IsCancellationRequested)
        {
            // One last pass, after the background one has stopped, so this run's result objects go out once;
            // what fails stays queued for the next run.
            await forwarder.SendDueAsync(cancellationToken).ConfigureAwait(false);
        }

        if (untilIdle && !cancellationToken.IsCancellationRequested)
        {
            // Slips an earlier run kept go out before stopping too, not only when the background loop gets to them.
            await appliance.Printer.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        if (untilIdle && sync is not null && !cancellationToken.IsCancellationRequested)
        {
            var left = await sync.DrainAsync(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            LogSyncDrained(_logger, appliance.Store.CountOutbox() - left, left);
        }

        return lines;
    }

    private async Task<DicomScp?> StartDicomAsync(CancellationToken cancellationToken)
    {
        var dicom = appliance.Options.Dicom;
        if (!dicom.Enabled)
        {
            return null;
        }

        var scpOptions = new DicomScpOptions
        {
            AeTitle = dicom.AeTitle,
            Port = dicom.Port,
            BindAddress = IPAddress.Parse(dicom.BindAddress),
            AllowedCallingAeTitles = dicom.AllowedCallingAeTitles,
            AllowedAddresses = [.. dicom.AllowedAddresses.Select(IPAddress.Parse)],
            MaxAssociations = dicom.MaxAssociations,
            FreeDiskFloorBytes = dicom.FreeDiskFloorMb * 1024 * 1024,

            // Same file system as the spool, so handing an object over is one rename.
            TemporaryDirectory = Path.Combine(appliance.Options.Storage.Path, "incoming"),
        };
        var scp = new DicomScp(scpOptions, new SpoolDicomSink(appliance, _arrivals.Writer), loggers.CreateLogger<DicomScp>());
        await scp.StartAsync(cancellationToken).ConfigureAwait(false);
        appliance.DicomPort = scp.Port;
        return scp;
    }

    private Task SubmitAsync(ReceivedImage image, CancellationToken cancellationToken) => SubmitAsync(new ScreeningCase { Received = image }, cancellationToken);

    private async Task SubmitAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        await appliance.Pipeline.SubmitAsync(item, cancellationToken).ConfigureAwait(false);
    }

    private async Task DrainAsync(List<ResultLine> lines)
    {
        await foreach (var item in appliance.Pipeline.Completed.ReadAllAsync().ConfigureAwait(false))
        {
            if (item.HeldForSeries)
            {
                // Its series comes back as one case once the console has gone quiet.
                Interlocked.Decrement(ref _inFlight);
                continue;
            }

            var line = appliance.LineFor(item);
            lines.Add(line);
            LogScreened(_logger, line.Id, line.Status, line.Decision ?? "-");
            appliance.OnResultSettled(line.Id);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Files not written to for the settle time, oldest first; hidden files and DICOMDIR indexes are left alone.</summary>
    private static List<string> SettledFiles(string folder, TimeSpan settleTime)
    {
        var cutoff = DateTime.UtcNow - settleTime;
        return Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden })
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !string.Equals(Path.GetFileName(f), "DICOMDIR", StringComparison.OrdinalIgnoreCase))
            .Select(f => (path: f, written: File.GetLastWriteTimeUtc(f)))
            .Where(f => f.written <= cutoff)
            .OrderBy(f => f.written)
            .Select(f => f.path)
            .ToList();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Synced {Sent} result message(s); {Left} waiting in the outbox")]
    private static partial void LogSyncDrained(ILogger logger, long sent, long left);

    [LoggerMessage(Level = LogLevel.Information, Message = "CT series of {Count} image(s) assembled as {Id}")]
    private static partial void LogSeriesAssembled(ILogger logger, string id, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Folder} for images")]
    private static partial void LogWatching(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Id}: {Status} ({Decision})")]
    private static partial void LogScreened(ILogger logger, string id, string status, string decision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not take an image from the watched folder: {Reason}")]
    private static partial void LogAdmitFailed(ILogger logger, string reason);
}

/// <summary>
/// Where the DICOM receiver hands each object once it is fsync'd: renamed into the spool and registered (so a crash can
/// no longer lose it), then queued for screening. Screening never runs inside the network callback.
/// </summary>
public sealed class SpoolDicomSink(Appliance appliance, ChannelWriter<ReceivedImage> arrivals) : IDicomStoreSink
{
    /// <summary>One object at a time between "already have it?" and taking it, so two copies cannot both pass.</summary>
    private readonly Lock _admitting = new();

    public ValueTask<StoreOutcome> AcceptAsync(ReceivedDicomObject received, CancellationToken cancellationToken)
    {
        var name = received.SopInstanceUid + ".dcm";
        try
        {
            lock (_admitting)
            {
                // A console resends an object whose response it never got (we restarted after taking it): it is the
                // same SOP instance, already spooled or screened, so it is acknowledged again, never screened twice.
                if (appliance.Store.HasImageNamed(Spool.SafeName(name)))
                {
                    File.Delete(received.TemporaryPath);
                    return ValueTask.FromResult(StoreOutcome.Stored);
                }

                var image = appliance.AdmitMove(received.TemporaryPath, IntakeSource.DicomStore, name);
                arrivals.TryWrite(image);
                return ValueTask.FromResult(StoreOutcome.Stored);
            }
        }
        catch (Exception ex) when (ex is StorageException or IOException)
        {
            return ValueTask.FromResult(StoreOutcome.Failed);
        }
    }
}
