using System.Buffers;
using System.Threading.Channels;
using Edge.Sync;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Collector;

/// <summary>
/// Takes this collector's share of the province's messages and commits them in batches. A message is acknowledged
/// (PUBACK) only after the transaction holding it has committed: until then the broker keeps it, and gives it again after
/// a reconnect or restart (persistent session, QoS 1). Redelivered results carry the same id and are stored once.
/// MQTTnet 5 has no managed client, so this class owns the reconnect loop (exponential backoff with jitter, as the
/// appliance's publisher does).
/// </summary>
public sealed partial class MqttIngest
{
    private readonly CollectorMqttOptions _options;
    private readonly ICollectorStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Channel<Delivery> _deliveries;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _committed;

    public MqttIngest(CollectorMqttOptions options, ICollectorStore store, ILogger logger, TimeProvider? clock = null)
    {
        _options = options;
        _store = store;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;

        // Bounded by what the broker may have in flight to us, so a slow store pushes back on the broker, not on memory.
        _deliveries = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(Math.Max(options.ReceiveMaximum, options.BatchSize)) { SingleReader = true });
    }

    /// <summary>After each committed batch (then acknowledged): what it added.</summary>
    public event Action<WriteOutcome>? Committed;

    /// <summary>
    /// After each committed batch (then acknowledged): the ids of the results it held, stored now (new or already there).
    /// What "the result is at the collector" means, per result: the end-to-end benchmark times its arrival by it.
    /// </summary>
    public event Action<IReadOnlyList<string>>? ResultsCommitted;

    /// <summary>
    /// Completes once the broker has granted the subscriptions for the first time. A collector group's first subscription
    /// is where its share begins: the broker keeps nothing for a session that does not exist yet.
    /// </summary>
    public Task Subscribed => _subscribed.Task;

    /// <summary>Messages committed since start, duplicates and unreadable ones included.</summary>
    public long CommittedMessages => Interlocked.Read(ref _committed);

    private string SharePrefix => string.IsNullOrEmpty(_options.ShareGroup) ? "" : $"$share/{_options.ShareGroup}/";

    /// <summary>
    /// The filters this collector subscribes to: results, stats and drift shared; status not (see docs/collector.md).
    /// Without a share group, plain subscriptions: for a single collector on a broker that does not keep shared
    /// subscriptions across its own restart (Mosquitto 2.0), where a plain persistent one is kept and queued for.
    /// </summary>
    public IReadOnlyList<string> TopicFilters =>
    [
        $"{SharePrefix}{_options.TopicRoot}/+/+/result",
        $"{SharePrefix}{_options.TopicRoot}/+/+/stats",
        $"{SharePrefix}{_options.TopicRoot}/+/+/drift",

        // Retained messages are never sent to a shared subscription (MQTT 5, 4.8.2), and the birth/will status is retained;
        // every collector takes every status, which is harmless: the newest status per device wins in the store.
        $"{_options.TopicRoot}/+/+/status",
    ];

    /// <summary>Connects, subscribes, commits and reconnects until cancelled; then disconnects, leaving its session on the broker.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reason = "";
        client.DisconnectedAsync += e =>
        {
            // The broker's reason (e.g. SessionTakenOver when another collector connects with our client id).
            Volatile.Write(ref reason, e.Reason.ToString());
            Volatile.Read(ref lost).TrySetResult();
            return Task.CompletedTask;
        };
        client.ApplicationMessageReceivedAsync += async e =>
        {
            // Acknowledged by the committer once the message is in the store, not by MQTTnet on return.
            e.AutoAcknowledge = false;
            var message = new IncomingMessage(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), _clock.GetUtcNow());
            try
            {
                await _deliveries.Writer.WriteAsync(new Delivery(message, e), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping: left unacknowledged, so the broker gives it again to whoever takes this session next.
            }
        };

        var committer = Task.Run(() => CommitLoopAsync(cancellationToken), CancellationToken.None);
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    Volatile.Write(ref lost, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    await ConnectAsync(client, cancellationToken).ConfigureAwait(false);
                    failures = 0;
                    await Volatile.Read(ref lost).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    LogConnectionLost(_logger, _options.Host, _options.Port, 1, "disconnected: " + Volatile.Read(ref reason));
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    LogConnectionLost(_logger, _options.Host, _options.Port, failures + 1, Describe(ex));
                }

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
            await committer.ConfigureAwait(false);
            if (client.IsConnected)
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    // A normal disconnect keeps the session (session expiry > 0): the broker queues our share meanwhile.
                    await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), grace.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    LogDisconnectFailed(_logger, Describe(ex));
                }
            }
        }
    }

    private async Task ConnectAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.EffectiveClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum((ushort)_options.ReceiveMaximum)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.Timeout);
        if (_options.Tls is { } tls)
        {
            builder = tls.ApplyTo(builder, _options.Host);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var result = await client.ConnectAsync(builder.Build(), timeout.Token).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new CollectorException($"The broker refused the connection: {result.ResultCode} {result.ReasonString}");
        }

        // Subscribing again on a resumed session is harmless and covers a broker that lost the session.
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in TopicFilters)
        {
            subscribe = subscribe.WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        var granted = await client.SubscribeAsync(subscribe.Build(), timeout.Token).ConfigureAwait(false);
        var refused = granted.Items.Where(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2).Select(i => $"{i.TopicFilter.Topic}: {i.ResultCode}").ToList();
        if (refused.Count > 0)
        {
            throw new CollectorException("The broker refused subscriptions: " + string.Join(", ", refused));
        }

        LogConnected(_logger, _options.Host, _options.Port, _options.EffectiveClientId, result.IsSessionPresent);
        _subscribed.TrySetResult();
    }

    private async Task CommitLoopAsync(CancellationToken cancellationToken)
    {
        var batch = new List<Delivery>(_options.BatchSize);
        try
        {
            while (await _deliveries.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Group commit: whatever has arrived while the last batch was being written goes in the next one.
                batch.Clear();
                while (batch.Count < _options.BatchSize && _deliveries.Reader.TryRead(out var delivery))
                {
                    batch.Add(delivery);
                }

                var ingest = IngestBatch.Build(batch.Select(d => d.Message), _options.TopicRoot);
                var outcome = await CommitWithRetryAsync(ingest, cancellationToken).ConfigureAwait(false);
                foreach (var delivery in batch)
                {
                    await AcknowledgeAsync(delivery, cancellationToken).ConfigureAwait(false);
                }

                Interlocked.Add(ref _committed, batch.Count);
                if (outcome.Unreadable > 0)
                {
                    LogUnreadable(_logger, outcome.Unreadable);
                }

                Committed?.Invoke(outcome);
                if (ingest.Results.Count > 0)
                {
                    ResultsCommitted?.Invoke([.. ingest.Results.Select(r => r.Id)]);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Whatever is not committed stays unacknowledged: the broker gives it again.
        }
    }

    /// <summary>A store that is down holds the batch (and, through the full channel, the broker) until it is back.</summary>
    private async Task<WriteOutcome> CommitWithRetryAsync(IngestBatch batch, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await _store.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (CollectorException ex)
            {
                LogStoreFailed(_logger, _store.Kind, attempt + 1, ex.Message);
                await Task.Delay(ReconnectBackoff.Delay(attempt, _options.MinReconnectDelay, _options.MaxReconnectDelay, Random.Shared.NextDouble()), _clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task AcknowledgeAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        try
        {
            await delivery.Args.AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionFailure(ex) || ex is ObjectDisposedException or NullReferenceException)
        {
            // The connection went after the commit: the broker sends the message again, and the id makes it a duplicate.
            // MQTTnet 5 throws NullReferenceException when acknowledging on a client whose connection is gone; uncaught,
            // it ended the commit loop and the collector silently stopped storing anything until restarted.
            LogAcknowledgeLost(_logger, Describe(ex));
        }
    }

    private static bool IsConnectionFailure(Exception ex) =>
        ex is MqttCommunicationException or CollectorException or SyncException or IOException or System.Net.Sockets.SocketException or OperationCanceledException
            or InvalidOperationException or System.Security.Authentication.AuthenticationException;

    /// <summary>The exception's type and message only: never a payload.</summary>
    private static string Describe(Exception ex) => ex.InnerException is { } inner ? $"{ex.GetType().Name}: {ex.Message} ({inner.GetType().Name}: {inner.Message})" : $"{ex.GetType().Name}: {ex.Message}";

    private sealed record Delivery(IncomingMessage Message, MqttApplicationMessageReceivedEventArgs Args);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the broker {Host}:{Port} as {ClientId} (session resumed: {SessionPresent})")]
    private static partial void LogConnected(ILogger logger, string host, int port, string clientId, bool sessionPresent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker {Host}:{Port} not reachable or connection lost (failure {Failures}), will retry: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string host, int port, int failures, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Store} store refused a batch (attempt {Attempt}); holding it and retrying: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string store, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} unreadable message(s) kept aside with their reason (GET /api/totals)")]
    private static partial void LogUnreadable(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Acknowledgement not sent, the broker will redeliver: {Reason}")]
    private static partial void LogAcknowledgeLost(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not disconnect cleanly while stopping: {Reason}")]
    private static partial void LogDisconnectFailed(ILogger logger, string reason);
}
