using System.Diagnostics;
using System.Globalization;
using System.Text;
using Edge.Collector;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench collector [--results N] [--runs R]`: how many results per second the collector keeps, into PostgreSQL
/// (a server started here, fsync on) and SQLite (synchronous=FULL). Two measures per store, medians over R runs:
/// the store alone, written in batches of 500 (the collector's batch size); and end to end, devices publishing QoS 1 to
/// Mosquitto, the collector taking them on its shared subscription, committing, then acknowledging. Writes out/bench/collector.md.
/// </summary>
public static class CollectorBenchmark
{
    private const int BatchSize = 500;
    private static long _batches;
    private static long _endToEndMessages;

    public static async Task<int> RunAsync(string[] args)
    {
        var results = Option(args, "--results", 20_000);
        var runs = Option(args, "--runs", 5);
        using var temp = new TempDirectory("edge-bench-collector");
        await using var postgres = await PostgresServer.StartAsync(durable: true);
        await using var broker = new MosquittoBroker();
        await broker.StartAsync();

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# collector ingest ({Environment.ProcessorCount} cores, {results} results per run, median of {runs} runs after one warm-up)");
        report.AppendLine();
        report.AppendLine("| store | path | median results/s | min | max |");
        report.AppendLine("| --- | --- | ---: | ---: | ---: |");
        var database = 0;
        foreach (var kind in new[] { "postgres", "sqlite" })
        {
            async Task<ICollectorStore> NewStoreAsync() => kind == "postgres"
                ? new PostgresCollectorStore(await postgres.CreateDatabaseAsync($"bench_{++database}"))
                : new SqliteCollectorStore(temp.Combine($"bench-{++database}.db"));
            async Task<CollectorOptions> NewOptionsAsync() => new()
            {
                // A group and a session per run: a stopped collector's session would otherwise keep taking its share of the next run.
                Mqtt = { Host = "127.0.0.1", Port = broker.Port, UseTls = false, ClientId = $"bench-{++database}", ShareGroup = $"bench{database}", SessionExpiry = TimeSpan.Zero },
                Sqlite = { Path = temp.Combine($"bench-{database}.db") },
                Postgres = { ConnectionString = kind == "postgres" ? await postgres.CreateDatabaseAsync($"bench_{database}") : null },
                Web = { Urls = "" },
            };

            var direct = new List<double>();
            for (var run = 0; run <= runs; run++)
            {
                await using var store = await NewStoreAsync();
                await store.MigrateAsync(CancellationToken.None);
                var rate = await StoreRateAsync(store, results, run);
                if (run > 0)
                {
                    direct.Add(rate);
                }
            }

            var endToEnd = new List<double>();
            Interlocked.Exchange(ref _batches, 0);
            Interlocked.Exchange(ref _endToEndMessages, 0);
            for (var run = 0; run <= Math.Max(1, runs / 2); run++)
            {
                var rate = await EndToEndRateAsync(await NewOptionsAsync(), broker.Port, results, run);
                if (run > 0)
                {
                    endToEnd.Add(rate);
                }
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | store, batches of {BatchSize} | {Measure.Percentile(direct, 0.5):0} | {direct.Min():0} | {direct.Max():0} |");
            Console.Error.WriteLine($"{kind} store: {string.Join(", ", direct.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))} results/s");
            report.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | Mosquitto -> collector -> store (QoS 1, ack after commit; mean batch {(double)Interlocked.Read(ref _endToEndMessages) / Math.Max(1, Interlocked.Read(ref _batches)):0} messages) | {Measure.Percentile(endToEnd, 0.5):0} | {endToEnd.Min():0} | {endToEnd.Max():0} |");
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"End to end: 4 devices publishing concurrently (16 unacknowledged each); timed from the first publish to the last commit. Peak RSS: {Measure.PeakRssMiB():0} MiB.");
        await Measure.PublishAsync("collector.md", report.ToString());
        return 0;
    }

    private static async Task<double> StoreRateAsync(ICollectorStore store, int count, int run)
    {
        var batches = Enumerable.Range(0, (count + BatchSize - 1) / BatchSize)
            .Select(b => IngestBatch.Build(Enumerable.Range(b * BatchSize, Math.Min(BatchSize, count - (b * BatchSize))).Select(i => new IncomingMessage($"tb/v1/site-{i % 20}/edge-{i % 7}/result", Payload($"run{run}-{i}", $"site-{i % 20}", $"edge-{i % 7}", i), DateTimeOffset.UtcNow)), "tb/v1"))
            .ToList();
        var watch = Stopwatch.StartNew();
        var inserted = 0;
        foreach (var batch in batches)
        {
            inserted += (await store.WriteAsync(batch, CancellationToken.None)).Inserted;
        }

        var seconds = watch.Elapsed.TotalSeconds;
        return inserted == count ? count / seconds : throw new InvalidOperationException($"inserted {inserted} of {count}");
    }

    private static async Task<double> EndToEndRateAsync(CollectorOptions options, int port, int count, int run)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        await using var host = await CollectorHost.StartAsync(options, loggers, CancellationToken.None);
        await host.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Ingest.Committed += _ =>
        {
            Interlocked.Increment(ref _batches);
            if (host.Ingest.CommittedMessages >= count)
            {
                done.TrySetResult();
            }
        };

        const int devices = 4;
        var clients = new List<IMqttClient>();
        var messages = new List<MqttApplicationMessage>[devices];
        for (var d = 0; d < devices; d++)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"bench-device-{run}-{d}-{Guid.NewGuid():N}").Build());
            clients.Add(client);
            messages[d] = [.. Enumerable.Range(0, count / devices).Select(i => new MqttApplicationMessageBuilder()
                .WithTopic($"tb/v1/site-{d}/edge-{d}/result")
                .WithPayload(Payload($"e2e{run}-{d}-{i}", $"site-{d}", $"edge-{d}", i))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build())];
        }

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, devices).Select(async d =>
        {
            // Below Mosquitto's receive maximum (max_inflight_messages, 20): more unacknowledged publishes is a protocol error.
            using var window = new SemaphoreSlim(16);
            var pending = new List<Task>();
            foreach (var message in messages[d])
            {
                await window.WaitAsync();
                pending.Add(PublishAsync(clients[d], message, window));
            }

            await Task.WhenAll(pending);
        }));
        try
        {
            await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"committed {host.Ingest.CommittedMessages} of {count} in 5 minutes");
        }

        var seconds = watch.Elapsed.TotalSeconds;
        foreach (var client in clients)
        {
            await client.DisconnectAsync();
            client.Dispose();
        }

        var stored = (await host.Store.TotalsAsync(CancellationToken.None)).Results;
        Interlocked.Add(ref _endToEndMessages, host.Ingest.CommittedMessages);
        return stored == count / devices * devices ? stored / seconds : throw new InvalidOperationException($"stored {stored} of {count}");
    }

    private static async Task PublishAsync(IMqttClient client, MqttApplicationMessage message, SemaphoreSlim window)
    {
        try
        {
            var result = await client.PublishAsync(message);
            if (!result.IsSuccess)
            {
                throw new InvalidOperationException($"publish refused: {result.ReasonCode}");
            }
        }
        finally
        {
            window.Release();
        }
    }

    private static byte[] Payload(string id, string site, string device, int i)
    {
        var at = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero).AddSeconds(i * 13);
        var refer = i % 9 == 0;
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""
            {"id":"{{id}}","site":"{{site}}","device":"{{device}}","acquiredAt":"{{at.AddMinutes(-1):O}}","screenedAt":"{{at:O}}","status":"screened","score":{{(refer ? 71.25 : 12.5)}},"decision":"{{(refer ? "refer" : "no-refer")}}","threshold":40,"model":{"name":"tb-cxr","version":"1.0.0","sha256":"5d41402abc4b2a76b9719d911017c592"},"qc":[],"subject":{"pseudoId":"{{i:x16}}","ageBand":"{{MessageParser.AgeBands[i % 8]}}","sex":"{{(i % 2 == 0 ? "F" : "M")}}"} }
            """));
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
