using Edge.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;

namespace Edge.Sync.Tests;

/// <summary>The township link's worst day: the broker is down while images are screened, then comes back.</summary>
public sealed class OutageTests : IDisposable
{
    /// <summary>
    /// Small (128 x 128) images keep this under a minute on a loaded CI machine; <c>./edge bench sync</c> runs the
    /// issue's 1,000 through the same path.
    /// </summary>
    private const int ImageCount = 150;

    private readonly TempDirectory _temp = new("edge-outage");

    [Fact]
    public async Task Run_BrokerStoppedWhileScreening_EveryResultArrivesOnceItReturns()
    {
        await using var broker = new Mosquitto(Persistence(_temp));
        await broker.StartAsync();

        // The collector's stand-in keeps a persistent session, so the broker queues for it while it is away too.
        await using var collector = new Subscriber();
        await collector.ConnectAsync(CollectorOptions(broker.Port), "tb/v1/+/+/result");
        await using var host = await ApplianceHost.StartAsync(ApplianceHost.OptionsFor(_temp, broker.Port, ApplianceHost.WriteKey(_temp)));
        await host.WaitForLogAsync(l => l.Text.StartsWith("Connected to the broker", StringComparison.Ordinal));

        await broker.StopAsync();
        await host.WaitForLogAsync(l => l.Text.Contains("not reachable or connection lost", StringComparison.Ordinal));
        var expected = CopyImages(host.Inbox, ImageCount);
        await host.WaitForResultsAsync(ImageCount);
        Assert.True(host.Appliance.Store.CountOutboxPending() >= ImageCount, "nothing can have been sent while the broker was down");

        await broker.StartAsync();
        await collector.ConnectAsync(CollectorOptions(broker.Port), null);
        await collector.WaitForAsync(r => r.Select(m => m.Id).Distinct().Count() >= ImageCount, TimeSpan.FromMinutes(2));

        // Exactly once by id: the transport may repeat a message (QoS 1), the collector keeps one per id.
        var ids = collector.Received.Select(m => m.Id!).ToList();
        Assert.Equal(ImageCount, ids.Distinct().Count());
        Assert.Equal(expected.Order(StringComparer.Ordinal), ids.Distinct().Select(id => OriginalName(host, id)).Order(StringComparer.Ordinal));
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Mosquitto keeps sessions and queued messages across a stop, with no cap on the queue.</summary>
    public static string Persistence(TempDirectory temp)
    {
        var folder = temp.Combine("mosquitto-db");
        Directory.CreateDirectory(folder);
        return $"persistence true\npersistence_location {folder}/\nmax_queued_messages 0\nmax_inflight_messages 0\n";
    }

    public static MqttClientOptions CollectorOptions(int port) => new MqttClientOptionsBuilder()
        .WithTcpServer("127.0.0.1", port)
        .WithProtocolVersion(MqttProtocolVersion.V500)
        .WithClientId("test-collector")
        .WithCleanStart(false)
        .WithSessionExpiryInterval(3600)
        .Build();

    /// <summary>The same shared image under many names, like a clinic's day of similar films; returns the names.</summary>
    public static List<string> CopyImages(string inbox, int count)
    {
        var sources = Directory.GetFiles(Path.Combine(Repo.Shenzhen, "images"), "*.png").Order(StringComparer.Ordinal).Take(20).ToList();
        var names = new List<string>();
        var staging = Path.Combine(inbox, "..", "staging");
        Directory.CreateDirectory(staging);
        for (var i = 0; i < count; i++)
        {
            var name = $"img{i:0000}.png";
            File.Copy(sources[i % sources.Count], Path.Combine(staging, name));
            names.Add(name);
        }

        // Moved in whole, so the watcher never sees a half-copied file.
        foreach (var name in names)
        {
            File.Move(Path.Combine(staging, name), Path.Combine(inbox, name));
        }

        return names;
    }

    private static string OriginalName(ApplianceHost host, string id)
    {
        var line = host.Appliance.Store.FindResult(id)?.ResultJson ?? throw new InvalidOperationException($"{id} is not a result of this device");
        using var json = System.Text.Json.JsonDocument.Parse(line);
        return Path.GetFileName(json.RootElement.GetProperty("file").GetString()!);
    }
}
