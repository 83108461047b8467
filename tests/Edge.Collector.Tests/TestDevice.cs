using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Collector.Tests;

/// <summary>Publishes as an appliance does (QoS 1, MQTT 5), the payloads in the wire shape of docs/collector.md.</summary>
public sealed class TestDevice : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    public TestDevice(string site, string device)
    {
        Site = site;
        Device = device;
    }

    public string Site { get; }

    public string Device { get; }

    public async Task ConnectAsync(int port)
    {
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"edge-{Site}-{Device}-{Guid.NewGuid():N}").Build();
        await _client.ConnectAsync(options);
    }

    public Task PublishResultAsync(string id, DateTimeOffset screenedAt, string status = "screened", double? score = 12.5, string? decision = "no-refer", double? threshold = 40, string? ageBand = "25-34", string? sex = "F", string extraJson = "")
    {
        var subject = JsonSerializer.Serialize(new Dictionary<string, string?> { ["pseudoId"] = "9f" + id.GetHashCode().ToString("x8"), ["ageBand"] = ageBand, ["sex"] = sex });
        var payload = $$"""
            {"id":{{Json(id)}},"site":{{Json(Site)}},"device":{{Json(Device)}},"acquiredAt":{{Json(screenedAt.AddMinutes(-1))}},"screenedAt":{{Json(screenedAt)}},
             "status":{{Json(status)}},"score":{{Json(score)}},"decision":{{Json(decision)}},"threshold":{{Json(threshold)}},
             "model":{"name":"tb-cxr","version":"1.0.0","sha256":"abc"},"qc":[],"subject":{{subject}}{{extraJson}}}
            """;
        return PublishAsync("result", payload, retain: false);
    }

    public Task PublishAsync(string kind, string payload, bool retain) => PublishRawAsync($"tb/v1/{Site}/{Device}/{kind}", payload, retain);

    public async Task PublishRawAsync(string topic, string payload, bool retain)
    {
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();
        var result = await _client.PublishAsync(message);
        Assert.True(result.IsSuccess, $"publish to {topic}: {result.ReasonCode}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);
}
