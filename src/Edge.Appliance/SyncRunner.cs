using Edge.Domain;
using Edge.Sync;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// The outbox publisher inside <c>run</c>: to the provincial broker (<c>Edge:Mqtt:Host</c>), or to an in-process broker
/// on loopback (<c>Edge:Mqtt:Embedded</c>). Its sync state drives the console's sync light.
/// </summary>
public sealed partial class SyncRunner : IAsyncDisposable
{
    private readonly OutboxPublisher _publisher;
    private readonly EmbeddedBroker? _broker;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly Task _schedule;
    private readonly Appliance _appliance;

    private SyncRunner(Appliance appliance, OutboxPublisher publisher, EmbeddedBroker? broker, Func<OutboxPublisher, SummarySchedule> schedule)
    {
        _appliance = appliance;
        _publisher = publisher;
        _broker = broker;
        _publisher.StateChanged += OnStateChanged;
        _running = _publisher.RunAsync(_stop.Token);
        _schedule = schedule(publisher).RunAsync(_stop.Token);
    }

    /// <summary>Null when the site has no broker configured: results stay in the outbox until one is.</summary>
    public static async Task<SyncRunner?> StartAsync(Appliance appliance, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var mqtt = appliance.Options.Mqtt;
        if (!mqtt.Embedded && string.IsNullOrWhiteSpace(mqtt.Host))
        {
            return null;
        }

        var broker = mqtt.Embedded ? await EmbeddedBroker.StartAsync(0, cancellationToken).ConfigureAwait(false) : null;
        var options = new OutboxPublisherOptions
        {
            Host = broker is null ? mqtt.Host : "127.0.0.1",
            Port = broker?.Port ?? mqtt.Port,
            Site = appliance.Options.Site.Id,
            Device = appliance.Options.Device.Id,
            TopicRoot = mqtt.TopicRoot,
            MaxMessagesPerSecond = mqtt.MaxMessagesPerSecond,
            MinReconnectDelay = mqtt.MinReconnectDelay,
            MaxReconnectDelay = mqtt.MaxReconnectDelay,

            // The embedded broker listens on loopback only, in plain TCP; a real link is mutual TLS.
            Tls = broker is null ? mqtt.Tls : null,
        };
        var logger = loggers.CreateLogger("Edge.Sync");
        var info = new DeviceStatusInfo(Cli.FirmwareVersion, appliance.Bundle.Manifest.Name, appliance.Bundle.Manifest.Version, appliance.Scorer.ProviderName);
        LogSyncTarget(logger, options.Host, options.Port, broker is not null);
        var summaries = new SyncSummaries(appliance.Store, mqtt.TopicRoot, options.Site, options.Device, appliance.Options.SiteTimeZone(), appliance.Threshold.Model);
        var commands = new SyncCommands(appliance.Store, appliance.Threshold, summaries, mqtt.TopicRoot, options.Site, options.Device, logger, TimeProvider.System);
        var publisher = new OutboxPublisher(appliance.Store, options, info, logger, TimeProvider.System, commands);
        return new SyncRunner(appliance, publisher, broker, p => new SummarySchedule(summaries, appliance.Store, appliance.Options.Sync.SummaryCheckInterval, p.Wake, logger, TimeProvider.System));
    }

    /// <summary>Waits, up to a limit, until everything recorded has been acknowledged by the broker (the demo's last step).</summary>
    public async Task<long> DrainAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        _publisher.Wake();
        var deadline = DateTime.UtcNow + limit;
        while (_appliance.Store.CountOutboxPending() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return _appliance.Store.CountOutboxPending();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _schedule.ConfigureAwait(false);
        _publisher.StateChanged -= OnStateChanged;
        await _publisher.DisposeAsync().ConfigureAwait(false);
        if (_broker is not null)
        {
            await _broker.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private void OnStateChanged(SyncState state) =>
        _ = _appliance.Console.ApplyAsync(new ConsoleEvent.SyncChanged(state), CancellationToken.None);

    [LoggerMessage(Level = LogLevel.Information, Message = "Syncing results to {Host}:{Port} (embedded broker: {Embedded})")]
    private static partial void LogSyncTarget(ILogger logger, string host, int port, bool embedded);
}
