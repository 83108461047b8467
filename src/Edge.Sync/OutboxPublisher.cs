using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Sync;

/// <summary>
/// Drains the outbox to the broker: oldest first, QoS 1, a row marked sent only after its PUBACK, at a bounded rate.
/// MQTTnet 5 has no managed client, so this class owns the reconnect loop (exponential backoff with jitter). A message
/// whose PUBACK is lost is sent again after the reconnect; its id is in the payload, so the collector keeps it once.
/// </summary>
public sealed partial class OutboxPublisher : IAsyncDisposable
{
    private readonly ScreeningStore _store;
    private readonly OutboxPublisherOptions _options;
    private readonly DeviceStatusInfo _info;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly IMqttClient _client;
    private readonly ISyncCommandHandler? _commands;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _stateLock = new();
    private SyncState _state = SyncState.Offline;
    private long _nextSendTimestamp;

    /// <param name="commands">Handles what comes down on <c>.../cmd/{name}</c>; null: the device takes no commands.</param>
    public OutboxPublisher(ScreeningStore store, OutboxPublisherOptions options, DeviceStatusInfo info, ILogger logger, TimeProvider? clock = null, ISyncCommandHandler? commands = null)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new SyncException("Sync options are not valid: " + string.Join(" ", problems));
        }

        _store = store;
        _options = options;
        _info = info;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _commands = commands;
        _client = new MqttClientFactory().CreateMqttClient();

        // A result committed in the record goes out now, not at the next poll (which otherwise adds up to PollInterval).
        _store.OutboxQueued += Wake;
        _client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _client.DisconnectedAsync += _ =>
        {
            // Wakes an idle drain so the loop notices at once and reconnects.
            SetState(SyncState.Offline);
            Wake();
            return Task.CompletedTask;
        };
    }

    /// <summary>Raised on every change of <see cref="State"/>; the appliance forwards it as <see cref="ConsoleEvent.SyncChanged"/>.</summary>
    public event Action<SyncState>? StateChanged;

    /// <summary>Offline (not connected), Backlog (connected, rows pending) or Synced (connected, nothing pending).</summary>
    public SyncState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>Tells an idle publisher that a row was queued, so it goes out now rather than at the next poll.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Connects, drains and reconnects until cancelled; then publishes "offline" (retained) and disconnects.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await ConnectAsync(cancellationToken).ConfigureAwait(false);
                    failures = 0;
                    await DrainWhileConnectedAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    LogConnectionLost(_logger, _options.Host, _options.Port, failures + 1, Describe(ex));
                }

                SetState(SyncState.Offline);
                var delay = ReconnectBackoff.Delay(failures++, _options.MinReconnectDelay, _options.MaxReconnectDelay, Random.Shared.NextDouble());
                try
                {
                    await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            await GoOfflineAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _store.OutboxQueued -= Wake;
        await GoOfflineAsync().ConfigureAwait(false);
        _client.Dispose();
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            return;
        }

        var will = Json(new DeviceStatusMessage("offline", _options.Site, _options.Device, null, null, null, null, null, _clock.GetUtcNow()));
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.EffectiveClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.Timeout)
            .WithWillTopic(_options.StatusTopic)
            .WithWillPayload(will)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Tls is { } tls)
        {
            builder = tls.ApplyTo(builder, _options.Host);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var result = await _client.ConnectAsync(builder.Build(), timeout.Token).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new SyncException($"The broker refused the connection: {result.ResultCode} {result.ReasonString}");
        }

        // Commands first: once the birth message says "online" (and the log says connected), a command sent is heard.
        if (_commands is not null)
        {
            await SubscribeToCommandsAsync(cancellationToken).ConfigureAwait(false);
        }

        var backlog = _store.CountOutboxPending();
        var birth = Json(new DeviceStatusMessage("online", _options.Site, _options.Device, _info.FirmwareVersion, _info.ModelName, _info.ModelVersion, _info.Provider, backlog, _clock.GetUtcNow()));
        await PublishAcknowledgedAsync(_options.StatusTopic, birth, retain: true, cancellationToken).ConfigureAwait(false);
        LogConnected(_logger, _options.Host, _options.Port, backlog);
    }

    /// <summary>
    /// Subscribes to this device's own command topics, again on every connect (clean start: the broker forgets them).
    /// The broker's ACL is what authenticates a command: only the programme may publish there, only this device may read.
    /// </summary>
    private async Task SubscribeToCommandsAsync(CancellationToken cancellationToken)
    {
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(_options.CommandTopicFilter).WithAtLeastOnceQoS().WithNoLocal(true))
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var result = await _client.SubscribeAsync(subscribe, timeout.Token).ConfigureAwait(false);
        var code = result.Items.Count > 0 ? result.Items.First().ResultCode : MqttClientSubscribeResultCode.UnspecifiedError;
        if (code > MqttClientSubscribeResultCode.GrantedQoS2)
        {
            // Results still flow; the province must fix the broker's ACL for commands to reach this device.
            LogCommandsRefused(_logger, _options.CommandTopicFilter, code.ToString());
        }
    }

    private async Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var prefix = _options.CommandTopicPrefix;
        var topic = e.ApplicationMessage.Topic;
        if (_commands is null || !topic.StartsWith(prefix, StringComparison.Ordinal) || topic.AsSpan(prefix.Length).Contains('/'))
        {
            return;
        }

        var command = new SyncCommand(topic[prefix.Length..], System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain);
        try
        {
            // Handled before the PUBACK goes back, so a command the broker delivered is applied (and answered) or redelivered.
            await _commands.HandleAsync(command, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageException ex)
        {
            // Neither applied nor acknowledged nor answered: the programme sees no reply and sends it again.
            e.ProcessingFailed = true;
            LogCommandFailed(_logger, command.Name, ex.Message);
            return;
        }

        Wake();
    }

    private async Task DrainWhileConnectedAsync(CancellationToken cancellationToken)
    {
        while (_client.IsConnected)
        {
            var batch = _store.PendingOutbox(_options.BatchSize);
            if (batch.Count == 0)
            {
                SetState(SyncState.Synced);
                await WaitForWorkAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            SetState(SyncState.Backlog);
            foreach (var row in batch)
            {
                await PaceAsync(cancellationToken).ConfigureAwait(false);
                _store.CountOutboxAttempt(row.Sequence);
                await PublishAcknowledgedAsync(row.Topic, Encoding.UTF8.GetBytes(row.Payload), retain: false, cancellationToken).ConfigureAwait(false);
                _store.MarkOutboxSent(row.Sequence, _clock.GetUtcNow());
                LogSent(_logger, row.MessageId, row.Attempts + 1);
            }
        }

        throw new SyncException("The connection to the broker was lost.");
    }

    /// <summary>Returns on a wake, a poll tick, or a disconnect (which also wakes).</summary>
    private async Task WaitForWorkAsync(CancellationToken cancellationToken)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        poll.CancelAfter(_options.PollInterval);
        try
        {
            await _wake.Reader.ReadAsync(poll.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Poll tick: look at the outbox again.
        }
    }

    /// <summary>Spaces messages at least 1/MaxMessagesPerSecond apart.</summary>
    private async Task PaceAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetTimestamp();
        if (_nextSendTimestamp > now)
        {
            await Task.Delay(_clock.GetElapsedTime(now, _nextSendTimestamp), _clock, cancellationToken).ConfigureAwait(false);
            now = _nextSendTimestamp;
        }

        _nextSendTimestamp = now + (_clock.TimestampFrequency / _options.MaxMessagesPerSecond);
    }

    private async Task PublishAcknowledgedAsync(string topic, byte[] payload, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .WithContentType("application/json")
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);

        // MQTT 5: codes below 0x80 are success (NoMatchingSubscribers included: the broker took the message).
        if (!result.IsSuccess)
        {
            throw new SyncException($"The broker did not accept a message on {topic}: {result.ReasonCode} {result.ReasonString}");
        }
    }

    private async Task GoOfflineAsync()
    {
        SetState(SyncState.Offline);
        if (!_client.IsConnected)
        {
            return;
        }

        // A clean disconnect does not fire the will, so say "offline" ourselves; a short grace, as we are stopping.
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            var offline = Json(new DeviceStatusMessage("offline", _options.Site, _options.Device, null, null, null, null, _store.CountOutboxPending(), _clock.GetUtcNow()));
            await PublishAcknowledgedAsync(_options.StatusTopic, offline, retain: true, grace.Token).ConfigureAwait(false);
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is OperationCanceledException)
        {
            LogOfflineNotSaid(_logger, Describe(ex));
        }
    }

    private void SetState(SyncState state)
    {
        lock (_stateLock)
        {
            if (_state == state)
            {
                return;
            }

            _state = state;
        }

        StateChanged?.Invoke(state);
    }

    private static byte[] Json(DeviceStatusMessage status) => JsonSerializer.SerializeToUtf8Bytes(status, SyncJsonContext.Default.DeviceStatusMessage);

    /// <summary>Failures that mean "try again later": the link, the broker, a timeout, or the record being busy.</summary>
    private static bool IsConnectionFailure(Exception ex) =>
        ex is MqttCommunicationException or SyncException or IOException or System.Net.Sockets.SocketException or OperationCanceledException
            or StorageException or InvalidOperationException or System.Security.Authentication.AuthenticationException;

    /// <summary>The exception's type and message only: never a payload.</summary>
    private static string Describe(Exception ex) => ex.InnerException is { } inner ? $"{ex.GetType().Name}: {ex.Message} ({inner.GetType().Name}: {inner.Message})" : $"{ex.GetType().Name}: {ex.Message}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the broker {Host}:{Port}; {Backlog} message(s) to sync")]
    private static partial void LogConnected(ILogger logger, string host, int port, long backlog);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker {Host}:{Port} not reachable or connection lost (failure {Failures}), will retry: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string host, int port, int failures, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Message {MessageId} acknowledged by the broker (attempt {Attempt})")]
    private static partial void LogSent(ILogger logger, string messageId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "The broker refused this device's command subscription {Filter}: {Code}; commands cannot reach it until the broker's ACL allows it")]
    private static partial void LogCommandsRefused(ILogger logger, string filter, string code);

    [LoggerMessage(Level = LogLevel.Error, Message = "Command {Name} could not be recorded and was not answered: {Reason}")]
    private static partial void LogCommandFailed(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not say offline to the broker while stopping: {Reason}")]
    private static partial void LogOfflineNotSaid(ILogger logger, string reason);
}
