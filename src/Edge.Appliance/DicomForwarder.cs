using System.Globalization;
using Edge.Dicom.Network;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>A PACS or console that receives our result objects.</summary>
public sealed class DicomDestination
{
    public string AeTitle { get; set; } = "";

    public string Host { get; set; } = "";

    public int Port { get; set; } = 104;

    /// <summary>The queue's key for this destination.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{AeTitle}@{Host}:{Port}");
}

/// <summary>
/// Drains the durable send queue: each result object to each destination, oldest first, retried with growing delays
/// while a destination is down. A restart picks up where it left off because the queue is in the record.
/// </summary>
public sealed partial class DicomForwarder(ScreeningStore store, IReadOnlyList<DicomDestination> destinations, string callingAeTitle, ILogger logger, TimeProvider clock)
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(10);
    private readonly DicomStoreScu _scu = new();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await SendDueAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One pass over what is due; returns how many objects were delivered.</summary>
    public async Task<int> SendDueAsync(CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var send in store.DueDicomSends(clock.GetUtcNow(), limit: 32))
        {
            var destination = destinations.FirstOrDefault(d => d.ToString() == send.Destination);
            if (destination is null)
            {
                // Removed from the configuration since it was queued: keep it, but stop trying often.
                store.MarkDicomSendFailed(send, "destination no longer configured", clock.GetUtcNow() + MaxDelay);
                continue;
            }

            string? error;
            try
            {
                var status = await _scu.SendAsync(destination.Host, destination.Port, callingAeTitle, destination.AeTitle, send.Path, cancellationToken).ConfigureAwait(false);
                error = DimseStatus.IsSuccessOrWarning(status) ? null : string.Create(CultureInfo.InvariantCulture, $"status {status:X4}");
            }
            catch (Exception ex) when (ex is DicomNetworkException or IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                error = ex.Message;
            }

            if (error is null)
            {
                store.MarkDicomSent(send, clock.GetUtcNow());
                delivered++;
            }
            else
            {
                var delay = TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, 5 * Math.Pow(2, send.Attempts)) * (0.8 + (0.4 * Random.Shared.NextDouble())));
                store.MarkDicomSendFailed(send, error, clock.GetUtcNow() + delay);
                LogSendFailed(logger, send.Destination, send.Attempts + 1, error);
            }
        }

        return delivered;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending a result object to {Destination} failed (attempt {Attempt}), will retry: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string destination, int attempt, string reason);
}
