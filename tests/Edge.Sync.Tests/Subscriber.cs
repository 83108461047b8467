using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Sync.Tests;

public sealed record Received(string Topic, string Payload, bool Retained)
{
    /// <summary>The <c>id</c> field of a result payload, or null.</summary>
    public string? Id
    {
        get
        {
            using var json = JsonDocument.Parse(Payload);
            return json.RootElement.TryGetProperty("id", out var id) ? id.GetString() : null;
        }
    }
}

/// <summary>Stands in for the collector: an MQTTnet client subscribed to a filter, recording every message it gets.</summary>
public sealed class Subscriber : IAsyncDisposable
{
    private readonly List<Received> _received = [];
    private readonly List<(Func<IReadOnlyList<Received>, bool> Condition, TaskCompletionSource Done)> _waits = [];
    private IMqttClient? _client;

    public IReadOnlyList<Received> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public Task ConnectAsync(int port, string filter = "tb/v1/#") =>
        ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId("test-subscriber-" + Guid.NewGuid().ToString("N")).Build(), filter);

    /// <summary>Connects with the given options (TLS, a persistent session) and subscribes; null filter: publish only.</summary>
    public async Task<MqttClientSubscribeResultCode?> ConnectAsync(MqttClientOptions options, string? filter)
    {
        if (_client is not null)
        {
            _client.Dispose();
        }

        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            Add(new Received(e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString(), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(options);
        _client = client;
        return filter is null ? null : await SubscribeAsync(filter);
    }

    public async Task<MqttClientSubscribeResultCode> SubscribeAsync(string filter)
    {
        var result = await _client!.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return result.Items.First().ResultCode;
    }

    /// <summary>Publishes at QoS 1 and returns the broker's PUBACK reason.</summary>
    public async Task<MqttClientPublishReasonCode> PublishAsync(string topic, string payload, bool retain = false)
    {
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();
        var result = await _client!.PublishAsync(message);
        return result.ReasonCode;
    }

    /// <summary>Completes when what was received satisfies the condition; fails after a generous timeout with what came.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<Received>, bool> condition, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_received)
        {
            if (condition(_received))
            {
                return;
            }

            _waits.Add((condition, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Condition not met; received {Received.Count} message(s): {string.Join(", ", Received.Select(r => r.Topic))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync();
            }

            client.Dispose();
        }
    }

    private void Add(Received message)
    {
        lock (_received)
        {
            _received.Add(message);
            foreach (var wait in _waits.Where(w => w.Condition(_received)).ToList())
            {
                _waits.Remove(wait);
                wait.Done.TrySetResult();
            }
        }
    }
}
