using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Edge.Appliance;
using Edge.Domain;
using Edge.Inference;
using Edge.Storage;
using Edge.Sync;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench sync [--messages N] [--images N]`: how fast the outbox drains to Mosquitto once the broker is back.
/// (1) Drain rate: N result messages waiting in the outbox, the publisher started with its rate ceiling lifted, timed
/// until a subscriber holds every id; plain TCP and mutual TLS, 5 rounds each, medians. (2) The issue's outage, end to
/// end: the broker is stopped, the appliance (in this process, CPU) screens N images from the watched folder, the broker
/// comes back, and a collector stand-in must hold every result exactly once. Writes out/bench/sync.md.
/// </summary>
public static class SyncBenchmark
{
    private const int Rounds = 5;
    private const string Site = "site-a";
    private const string Device = "dev-1";
    private const string ResultTopic = "tb/v1/site-a/dev-1/result";

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = Option(args, "--messages", 1000);
        var images = Option(args, "--images", 1000);
        using var temp = new TempDirectory("edge-bench-sync");
        var pki = await MakeCertificatesAsync(temp);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Outbox drain after an outage ({Environment.ProcessorCount} CPUs, Mosquitto {await MosquittoVersionAsync()})");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"## Drain rate: {messages} result messages waiting, rate ceiling lifted, {Rounds} rounds (QoS 1, each marked sent on its PUBACK)");
        report.AppendLine();
        report.AppendLine("| link | median messages/s | min | max | median s to drain |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var tls in new[] { false, true })
        {
            var rates = new List<double>();
            var seconds = new List<double>();
            for (var round = 0; round < Rounds + 1; round++)
            {
                var elapsed = await DrainOnceAsync(temp, pki, messages, tls, round);
                if (round > 0)
                {
                    // The first round warms the JIT and the TLS stack.
                    rates.Add(messages / elapsed);
                    seconds.Add(elapsed);
                }
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"| {(tls ? "mutual TLS 1.2+" : "plain TCP (loopback)")} | {Measure.Percentile(rates, 0.5):0} | {rates.Min():0} | {rates.Max():0} | {Measure.Percentile(seconds, 0.5):0.00} |");
        }

        report.AppendLine();
        report.AppendLine("In service the drain is capped at `Edge:Mqtt:MaxMessagesPerSecond` (default 50/s), so a thin link is not flooded: a day's backlog of 1,000 results then takes 20 s.");
        report.AppendLine();
        var outage = await OutageAsync(temp, images);
        report.AppendLine(CultureInfo.InvariantCulture, $"## Outage end to end: broker stopped, {images} images screened (128 x 128 PNG, CPU), broker started");
        report.AppendLine();
        report.AppendLine("| measure | value |");
        report.AppendLine("| --- | ---: |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| screening while offline | {outage.ScreenSeconds:0.0} s ({images / outage.ScreenSeconds:0.0} images/s) |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| broker start to first result received (reconnect backoff) | {outage.ReconnectSeconds:0.00} s |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| first to last result received | {outage.DrainSeconds:0.00} s ({images / Math.Max(outage.DrainSeconds, 1e-6):0} messages/s, ceiling 5000/s) |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| distinct result ids received / screened | {outage.Distinct} / {images} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| duplicates received | {outage.Received - outage.Distinct} |");
        report.AppendLine();
        await Measure.PublishAsync("sync.md", report.ToString());
        return outage.Distinct == images ? 0 : 1;
    }

    private static async Task<double> DrainOnceAsync(TempDirectory temp, Pki pki, int count, bool tls, int round)
    {
        var folder = temp.Combine($"drain-{(tls ? "tls" : "tcp")}-{round}");
        Directory.CreateDirectory(folder);
        using var store = ScreeningStore.Open(Path.Combine(folder, "edge.db"));
        var now = DateTimeOffset.UtcNow;
        foreach (var id in Enumerable.Range(0, count).Select(i => $"{round:00}{i:000000}"))
        {
            store.EnqueueOutbox(new OutboxMessage(id, ResultTopic, SamplePayload(id, now)), now);
        }

        var tlsPort = Ports.Free();
        await using var broker = await Broker.StartAsync(folder, tls ? pki.Listener(tlsPort) : "");
        await using var collector = await Collector.ConnectAsync(broker.Port, "bench-drain-" + round, count);
        var options = new OutboxPublisherOptions
        {
            Host = "127.0.0.1",
            Port = tls ? tlsPort : broker.Port,
            Site = Site,
            Device = Device,
            MaxMessagesPerSecond = 1_000_000,
            Tls = tls ? new SyncTlsOptions { CaPath = pki.Ca, ClientCertPath = pki.ClientCert, ClientKeyPath = pki.ClientKey, TargetHost = "localhost" } : null,
        };
        await using var publisher = new OutboxPublisher(store, options, new DeviceStatusInfo("bench", null, null, null), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => publisher.RunAsync(stop.Token));
        await collector.AllReceived.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await run;
        return elapsed;
    }

    private static async Task<(double ScreenSeconds, double ReconnectSeconds, double DrainSeconds, int Distinct, int Received)> OutageAsync(TempDirectory temp, int count)
    {
        var folder = temp.Combine("outage");
        Directory.CreateDirectory(folder);
        var db = Path.Combine(folder, "mosquitto-db");
        Directory.CreateDirectory(db);
        var persistence = $"persistence true\npersistence_location {db}/\nmax_queued_messages 0\n";
        await using var broker = await Broker.StartAsync(folder, persistence);

        // The collector's stand-in keeps a persistent session, so the broker queues for it across the restart.
        var collector = await Collector.ConnectAsync(broker.Port, "bench-outage", count);
        var key = Path.Combine(folder, "pseudonym.key");
        await File.WriteAllBytesAsync(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var options = new EdgeOptions
        {
            Site = new SiteOptions { Id = Site, TimeZone = "UTC" },
            Device = new DeviceOptions { Id = Device },
            Storage = new StorageOptions { Path = Path.Combine(folder, "data") },
            Model = new ModelOptions { Path = Repo.ModelBundles, PublicKeyPath = Repo.DevPublicKey, Providers = [ExecutionProvider.Cpu] },
            Hardware = new HardwareOptions { Profile = "simulated", SlipDirectory = Path.Combine(folder, "slips") },
            Intake = new IntakeOptions { WatchPath = Path.Combine(folder, "inbox"), SettleTime = TimeSpan.Zero, PollInterval = TimeSpan.FromMilliseconds(100) },
            Output = new OutputOptions { Path = Path.Combine(folder, "out") },
            Dicom = new DicomOptions { Enabled = false },
            Mqtt = new MqttOptions { Host = "127.0.0.1", Port = broker.Port, UseTls = false, MaxMessagesPerSecond = 5000, MinReconnectDelay = TimeSpan.FromSeconds(1), MaxReconnectDelay = TimeSpan.FromSeconds(2) },
            Sync = new Edge.Appliance.SyncOptions { PseudonymKeyPath = key },
        };
        Directory.CreateDirectory(options.Intake.WatchPath);
        await using var appliance = Appliance.Appliance.Start(options, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var service = Task.Run(() => new IntakeService(appliance, NullLoggerFactory.Instance).RunAsync(untilIdle: false, stop.Token));
        await broker.StopAsync();
        await collector.DisposeAsync();
        var sources = Directory.GetFiles(Path.Combine(Repo.Shenzhen, "images"), "*.png").Order(StringComparer.Ordinal).Take(50).ToList();
        var staging = Path.Combine(folder, "staging");
        Directory.CreateDirectory(staging);
        for (var i = 0; i < count; i++)
        {
            File.Copy(sources[i % sources.Count], Path.Combine(staging, $"img{i:00000}.png"));
        }

        var screening = Stopwatch.StartNew();
        foreach (var file in Directory.GetFiles(staging))
        {
            File.Move(file, Path.Combine(options.Intake.WatchPath, Path.GetFileName(file)));
        }

        await WaitAsync(() => appliance.Store.CountResults() >= count, TimeSpan.FromMinutes(30));
        var screenSeconds = screening.Elapsed.TotalSeconds;

        var back = Stopwatch.GetTimestamp();
        await broker.StartAgainAsync();
        await using var returned = await Collector.ConnectAsync(broker.Port, "bench-outage", count);
        await returned.AllReceived.WaitAsync(TimeSpan.FromMinutes(10));
        await stop.CancelAsync();
        await service;
        var (first, last) = returned.FirstAndLast(back);
        return (screenSeconds, first, last - first, returned.Distinct, returned.Received);
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException("benchmark step did not finish in " + limit);
            }

            await Task.Delay(50);
        }
    }

    private static string SamplePayload(string id, DateTimeOffset now) => JsonSerializer.Serialize(new
    {
        id,
        site = Site,
        device = Device,
        acquiredAt = now,
        screenedAt = now,
        status = "screened",
        score = 12.345,
        decision = "no-refer",
        threshold = 50.0,
        model = new { name = "tb-cxr", version = "1.0.0", sha256 = new string('a', 64) },
        qc = Array.Empty<string>(),
        subject = new { pseudoId = new string('f', 64), ageBand = "25-34", sex = "F" },
        historical = false,
    });

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static async Task<string> MosquittoVersionAsync()
    {
        var result = await ChildProcess.RunAsync(Broker.Program, ["-h"], TimeSpan.FromSeconds(10));
        return (result.Stdout + result.Stderr).Split('\n')[0].Replace("mosquitto version ", "", StringComparison.Ordinal).Trim();
    }

    private sealed record Pki(string Ca, string ServerCert, string ServerKey, string ClientCert, string ClientKey)
    {
        public string Listener(int port) => $"listener {port} 127.0.0.1\ncafile {Ca}\ncertfile {ServerCert}\nkeyfile {ServerKey}\nrequire_certificate true\ntls_version tlsv1.2\n";
    }

    private static async Task<Pki> MakeCertificatesAsync(TempDirectory temp)
    {
        string P(string name) => temp.Combine(name);
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Bench CA", "-keyout", P("ca.key"), "-out", P("ca.pem"));
        foreach (var (name, subject, ext) in new[] { ("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"), ("client", "/CN=site-a\\/dev-1", "extendedKeyUsage=clientAuth") })
        {
            await File.WriteAllTextAsync(P(name + ".ext"), ext + "\n");
            await OpenSslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject, "-keyout", P(name + ".key"), "-out", P(name + ".csr"));
            await OpenSslAsync("x509", "-req", "-in", P(name + ".csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", P(name + ".ext"), "-out", P(name + ".pem"));
        }

        return new Pki(P("ca.pem"), P("server.pem"), P("server.key"), P("client.pem"), P("client.key"));
    }

    private static async Task OpenSslAsync(params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("openssl", arguments, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', arguments)}: {result.Stderr}");
        }
    }

    /// <summary>Mosquitto on a loopback port, stopped with SIGTERM (it saves its sessions) and started again on the same port.</summary>
    internal sealed class Broker : IAsyncDisposable
    {
        private readonly string _config;
        private ChildProcess? _process;

        private Broker(string config, int port)
        {
            _config = config;
            Port = port;
        }

        public static string Program => File.Exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";

        public int Port { get; }

        public static async Task<Broker> StartAsync(string folder, string extra)
        {
            var port = Ports.Free();
            var config = Path.Combine(folder, "mosquitto.conf");
            await File.WriteAllTextAsync(config, $"user {Environment.UserName}\nlistener {port} 127.0.0.1\nallow_anonymous true\n{extra}");
            var broker = new Broker(config, port);
            await broker.StartAgainAsync();
            return broker;
        }

        public async Task StartAgainAsync()
        {
            _process = ChildProcess.Start(Program, ["-c", _config]);
            await Ports.WaitUntilListeningAsync(Port, _process);
        }

        public async Task StopAsync()
        {
            if (_process is { } process)
            {
                await ChildProcess.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
                await process.WaitAsync(TimeSpan.FromSeconds(30));
                await process.DisposeAsync();
                _process = null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_process is { } process)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>The collector's stand-in: a persistent MQTT 5 session on the result topics, counting ids and arrival times.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly ConcurrentDictionary<string, int> _ids = new();
        private readonly ConcurrentQueue<long> _arrivals = new();
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _received;

        public Task AllReceived => _all.Task;

        public int Distinct => _ids.Count;

        public int Received => _received;

        public bool Connected => _client.IsConnected;

        public static async Task<Collector> ConnectAsync(int port, string clientId, int expected)
        {
            var collector = new Collector();
            collector._client.ApplicationMessageReceivedAsync += e =>
            {
                using var json = JsonDocument.Parse(e.ApplicationMessage.ConvertPayloadToString());
                var id = json.RootElement.GetProperty("id").GetString()!;
                collector._arrivals.Enqueue(Stopwatch.GetTimestamp());
                Interlocked.Increment(ref collector._received);
                collector._ids.AddOrUpdate(id, 1, (_, n) => n + 1);
                if (collector._ids.Count >= expected)
                {
                    collector._all.TrySetResult();
                }

                return Task.CompletedTask;
            };
            var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500)
                .WithClientId(clientId).WithCleanStart(false).WithSessionExpiryInterval(3600).Build();
            await collector._client.ConnectAsync(options);
            await collector._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("tb/v1/+/+/result", MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return collector;
        }

        /// <summary>Seconds from the timestamp <paramref name="since"/> to the first and the last arrival.</summary>
        public (double First, double Last) FirstAndLast(long since)
        {
            var times = _arrivals.Select(t => (t - since) / (double)Stopwatch.Frequency).ToList();
            return (times.Min(), times.Max());
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }
}
