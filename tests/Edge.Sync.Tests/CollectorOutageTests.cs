using System.Text.Json.Nodes;
using Edge.Collector;
using Edge.Faults;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Edge.Sync.Tests;

/// <summary>
/// The end-to-end proof with the real parts: the appliance screening in process, a real Mosquitto, and the real
/// collector (SQLite, its HTTP API) — the broker down while images are screened, the collector restarted mid-stream.
/// </summary>
public sealed class CollectorOutageTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>As <see cref="OutageTests"/>: enough to queue a real backlog, small enough for a loaded CI machine.</summary>
    private const int ImageCount = 120;

    private readonly TempDirectory _temp = new("edge-collector-outage");

    [Fact]
    public async Task Run_BrokerDownWhileScreeningAndCollectorRestarted_CollectorHoldsEveryResultOnceAndDashboardCountsMatch()
    {
        await using var broker = new Mosquitto(OutageTests.Persistence(_temp));
        await broker.StartAsync();
        using var collectorLogs = new CapturedLogs();
        using var collectorLoggers = LoggerFactory.Create(b => b.AddProvider(collectorLogs));
        var options = CollectorOptionsFor(broker.Port);

        // Subscribed before the outage: the broker keeps the collector's session (and what it queues) across its stop.
        var collector = await CollectorHost.StartAsync(options, collectorLoggers, CancellationToken.None);
        try
        {
            await collector.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(60));
            var applianceOptions = ApplianceHost.OptionsFor(_temp, broker.Port, ApplianceHost.WriteKey(_temp));

            // The drain rate bound at 100/s stretches the backlog's delivery over about a second, so the restart below
            // falls while messages are still arriving (the collector commits in batches of 10).
            applianceOptions.Mqtt.MaxMessagesPerSecond = 100;
            await using var appliance = await ApplianceHost.StartAsync(applianceOptions);
            await appliance.WaitForLogAsync(l => l.Text.StartsWith("Connected to the broker", StringComparison.Ordinal));

            await broker.StopAsync();
            await appliance.WaitForLogAsync(l => l.Text.Contains("not reachable or connection lost", StringComparison.Ordinal));
            OutageTests.CopyImages(appliance.Inbox, ImageCount);
            await appliance.WaitForResultsAsync(ImageCount);
            Assert.Equal(0, (await collector.Store.TotalsAsync(CancellationToken.None)).Results);

            await broker.StartAsync();

            // Restarted once while the backlog drains: what it took but had not committed is redelivered to the next one.
            await WaitForStoredAsync(collector, 1, collectorLogs);
            await collector.DisposeAsync();
            output.WriteLine($"collector restarted holding {(await ReadCollectorAsync(options.Sqlite.Path)).Count} of {ImageCount}");
            collector = await CollectorHost.StartAsync(options, collectorLoggers, CancellationToken.None);
            await WaitForStoredAsync(collector, ImageCount, collectorLogs);

            var screenedOnDevice = await ReadApplianceAsync(Path.Combine(appliance.Options.Storage.Path, "edge.db"));
            Assert.Equal(ImageCount, screenedOnDevice.Count);

            // Exactly the appliance's ids, each once: the id is the store's key, so a count per id above one cannot hide.
            var held = await ReadCollectorAsync(options.Sqlite.Path);
            Assert.Equal(ImageCount, held.Count);
            Assert.Equal(screenedOnDevice.Keys.Order(StringComparer.Ordinal), held.Keys.Order(StringComparer.Ordinal));
            foreach (var (id, (status, decision)) in screenedOnDevice)
            {
                Assert.Equal((status, decision), held[id]);
            }

            // The dashboard's API counts what the appliance screened.
            using var http = new HttpClient { BaseAddress = collector.WebAddress };
            var indicators = JsonNode.Parse(await http.GetStringAsync("/api/indicators?period=month&site=" + ApplianceHost.Site))!;
            var rows = indicators["rows"]!.AsArray();
            long Sum(string name) => rows.Sum(r => (long)r![name]!);
            var expected = (
                Results: (long)screenedOnDevice.Count,
                Screened: screenedOnDevice.Values.LongCount(v => v.Status == "screened"),
                Refer: screenedOnDevice.Values.LongCount(v => v.Status == "screened" && v.Decision == "refer"),
                Rejected: screenedOnDevice.Values.LongCount(v => v.Status == "rejected"),
                Errors: screenedOnDevice.Values.LongCount(v => v.Status == "error"));
            Assert.Equal(expected, (Sum("results"), Sum("screened"), Sum("presumptive"), Sum("rejected"), Sum("errors")));
            Assert.True(expected.Screened > 0, "a run where nothing was screened would prove little");
        }
        finally
        {
            await collector.DisposeAsync();
        }
    }

    public void Dispose() => _temp.Dispose();

    private CollectorOptions CollectorOptionsFor(int brokerPort) => new()
    {
        Mqtt =
        {
            Host = "127.0.0.1",
            Port = brokerPort,
            UseTls = false,
            ClientId = "province-collector",
            BatchSize = 10,

            // One collector, plain subscriptions: with a shared subscription Mosquitto 2.0 dropped messages in flight to
            // the collector when it stopped mid-stream (about 1 run in 4 lost some); a plain persistent one keeps them.
            ShareGroup = "",
            MinReconnectDelay = TimeSpan.FromMilliseconds(200),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
        },
        Sqlite = { Path = _temp.Combine("collector.db") },
        Web = { Urls = "http://127.0.0.1:0" },
    };

    /// <summary>Awaits the collector's commits (an event per batch) until its store holds <paramref name="results"/>.</summary>
    private static Task WaitForStoredAsync(CollectorHost host, long results, CapturedLogs logs) =>
        Records.WaitForStoredAsync(host, results, TimeSpan.FromMinutes(2), () => "its log: " + string.Join(" | ", logs.Lines.TakeLast(30).Select(l => l.Text)));

    /// <summary>The appliance's own record: each result's id, status and referral, in the words results carry.</summary>
    private static async Task<Dictionary<string, (string Status, string? Decision)>> ReadApplianceAsync(string path) =>
        (await Records.ReadApplianceAsync(path)).ToDictionary(r => r.Id, r => (r.Status, r.Decision), StringComparer.Ordinal);

    /// <summary>The collector's results; ToDictionary throws on a second row with the same id.</summary>
    private static async Task<Dictionary<string, (string Status, string? Decision)>> ReadCollectorAsync(string path) =>
        (await Records.ReadCollectorAsync(path)).ToDictionary(r => r.Id, r => (r.Status, r.Decision), StringComparer.Ordinal);
}
