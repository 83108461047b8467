using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// The <c>run</c> loop: re-queues what a previous stop left in the spool, then takes images from the watched folder
/// (a USB stick, a share, or where the DICOM receiver drops files) and screens them until stopped.
/// </summary>
public sealed partial class WatchFolderService(Appliance appliance, ILogger logger)
{
    private int _inFlight;

    /// <param name="untilIdle">Stop once the folder is empty and everything taken is finished (the demo and tests).</param>
    public async Task<IReadOnlyList<ResultLine>> RunAsync(bool untilIdle, CancellationToken cancellationToken)
    {
        var options = appliance.Options.Intake;
        Directory.CreateDirectory(options.WatchPath);
        var lines = new List<ResultLine>();
        var draining = DrainAsync(lines);

        try
        {
            foreach (var image in appliance.Recover())
            {
                await SubmitAsync(image, cancellationToken).ConfigureAwait(false);
            }

            LogWatching(logger, options.WatchPath);
            while (!cancellationToken.IsCancellationRequested)
            {
                var taken = 0;
                foreach (var file in SettledFiles(options.WatchPath, options.SettleTime))
                {
                    ReceivedImage image;
                    try
                    {
                        image = appliance.AdmitMove(file);
                    }
                    catch (StorageException ex)
                    {
                        LogAdmitFailed(logger, ex.Message);
                        continue;
                    }

                    await SubmitAsync(image, cancellationToken).ConfigureAwait(false);
                    taken++;
                }

                if (untilIdle && taken == 0 && Volatile.Read(ref _inFlight) == 0)
                {
                    break;
                }

                await Task.Delay(untilIdle && taken == 0 ? TimeSpan.FromMilliseconds(100) : options.PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: images already taken finish; anything not yet taken stays in the folder or the spool.
        }

        appliance.Pipeline.CompleteInput();
        await draining.ConfigureAwait(false);
        return lines;
    }

    private async Task SubmitAsync(ReceivedImage image, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        await appliance.Pipeline.SubmitAsync(image, cancellationToken).ConfigureAwait(false);
    }

    private async Task DrainAsync(List<ResultLine> lines)
    {
        await foreach (var item in appliance.Pipeline.Completed.ReadAllAsync().ConfigureAwait(false))
        {
            var line = appliance.LineFor(item);
            lines.Add(line);
            LogScreened(logger, line.Id, line.Status, line.Decision ?? "-");
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Files not written to for the settle time, oldest first; hidden files and DICOMDIR indexes are left alone.</summary>
    private static IEnumerable<string> SettledFiles(string folder, TimeSpan settleTime)
    {
        var cutoff = DateTime.UtcNow - settleTime;
        return Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = System.IO.FileAttributes.Hidden })
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !string.Equals(Path.GetFileName(f), "DICOMDIR", StringComparison.OrdinalIgnoreCase))
            .Select(f => (path: f, written: File.GetLastWriteTimeUtc(f)))
            .Where(f => f.written <= cutoff)
            .OrderBy(f => f.written)
            .Select(f => f.path)
            .ToList();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Folder} for images")]
    private static partial void LogWatching(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {Id}: {Status} ({Decision})")]
    private static partial void LogScreened(ILogger logger, string id, string status, string decision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not take an image from the watched folder: {Reason}")]
    private static partial void LogAdmitFailed(ILogger logger, string reason);
}
