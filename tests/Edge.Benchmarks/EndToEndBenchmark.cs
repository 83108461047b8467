using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Edge.Collector;
using Edge.Faults;
using Edge.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench e2e [--images N] [--long]`: the published Native AOT appliance (`run`) with a real Mosquitto and the
/// provincial collector (in process, SQLite), driven by DCMTK storescu as a console would (1 sender, then 4 concurrent
/// associations) with 2048 x 2048 16-bit images and the shared DICOM files. Latency is C-STORE response at the sender to
/// the result committed at the collector (<see cref="CollectorResultArrivals"/>); the same results' arrival at a plain
/// MQTT subscriber of the broker is measured beside it, to show the collector's share. Also: throughput, the appliance's
/// peak RSS, start-to-ready, and DCMTK storescp receiving the same files in the same run.
/// Writes out/bench/e2e.md and out/bench/e2e-latency.png.
/// </summary>
public static class EndToEndBenchmark
{
    private const string Site = "bench-site";
    private const string Device = "bench-dev";
    private const string BaseUidPrefix = "2.25.";

    public static async Task<int> RunAsync(string[] args)
    {
        var longRun = args.Contains("--long");
        var perPhase = Option(args, "--images", longRun ? 400 : 40);
        var binary = Environment.GetEnvironmentVariable("EDGE_APPLIANCE_BIN") is { Length: > 0 } b ? b : Path.Combine(Repo.Root, "out", "bin", "linux-x64", "edge-appliance");
        if (!File.Exists(binary))
        {
            Console.Error.WriteLine($"{binary} is missing: run ./edge publish (./edge bench e2e does it for you).");
            return 2;
        }

        using var temp = new TempDirectory("edge-bench-e2e");
        var images = temp.Combine("images");
        Directory.CreateDirectory(images);
        var single = MakeImages(images, "a", perPhase / 4);
        var four = MakeImages(images, "b", perPhase);

        await using var broker = await SyncBenchmark.Broker.StartAsync(temp.Path, "");
        await using var subscriber = await MqttResultArrivals.ConnectAsync(broker.Port);
        await using var collector = await CollectorResultArrivals.StartAsync(broker.Port, temp.Combine("collector.db"));
        var arrivals = new Arrivals(collector, subscriber);

        var dicomPort = Ports.Free();
        var config = ApplianceProcess.WriteConfig(temp, Site, Device, broker.Port, dicomPort);
        var started = Stopwatch.GetTimestamp();
        await using var appliance = ChildProcess.Start(binary, ["run", "--config", config], temp.Path);
        var readySeconds = await ApplianceProcess.WaitUntilEchoAsync(dicomPort, appliance, started);

        var results = Path.Combine(temp.Path, "out", "results.jsonl");
        var shared = await SendSharedAsync(dicomPort, arrivals, results, appliance);
        var one = await PhaseAsync("1 sender", dicomPort, [single], arrivals, results, appliance);
        var quad = await PhaseAsync("4 senders", dicomPort, Split(four, 4), arrivals, results, appliance);
        var rssMiB = PeakRssMiB(appliance.Id);

        // DCMTK's storescp receives exactly the same files from the same storescu commands, in the same run.
        var storescpPort = Ports.Free();
        Directory.CreateDirectory(temp.Combine("storescp"));
        await using var storescp = ChildProcess.Start("storescp", ["-aet", "STORESCP", "+xa", "-od", temp.Combine("storescp"), storescpPort.ToString(CultureInfo.InvariantCulture)], temp.Path);
        await Ports.WaitUntilListeningAsync(storescpPort, storescp);
        var dcmtkOne = await SendAllAsync("STORESCP", storescpPort, [single]);
        var dcmtkFour = await SendAllAsync("STORESCP", storescpPort, Split(four, 4));

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# End to end: storescu -> edge-appliance (Native AOT, CPU) -> Mosquitto -> provincial collector ({Environment.ProcessorCount} CPUs, load average {LoadAverage()} at the end)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Images: 2048 x 2048 16-bit DX ({new FileInfo(single[0]).Length / 1024} KiB each, Explicit VR LE); {single.Count} over 1 association, then {four.Count} over 4 concurrent associations; before them the {shared.Latencies.Count} shared DICOM files, one association each. Latency: `Received Store Response` in storescu's log -> the result committed in the collector's store (SQLite, `synchronous=FULL`; the collector's `ResultsCommitted` after its transaction), matched through `results.jsonl` (file name = SOP Instance UID -> result id, the id in the message). Beside it, the same results' first arrival at a plain MQTT subscriber of the broker (QoS 1): the difference is the collector's share (its batching and commit).");
        report.AppendLine();
        report.AppendLine("| phase | images | results at collector | p50 ms | p95 ms | p99 ms | max ms | subscriber p50 ms | subscriber p95 ms | images/s (first send -> last result at collector) | storescu wall s (edge) | storescu wall s (storescp) | receive ratio edge / storescp |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        report.AppendLine(Row(shared, null));
        report.AppendLine(Row(one, dcmtkOne));
        report.AppendLine(Row(quad, dcmtkFour));
        report.AppendLine();
        report.AppendLine("| measure | value | goal |");
        report.AppendLine("| --- | ---: | ---: |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| p50 latency to the collector, 4 senders | {P(quad, 0.5):0} ms | <= 300 ms |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| p95 latency to the collector, 4 senders | {P(quad, 0.95):0} ms | <= 1000 ms |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| throughput, 4 senders | {quad.ImagesPerSecond:0.0} images/s | >= 10 |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| peak RSS of edge-appliance (VmHWM) | {rssMiB:0} MiB | <= 150 MB |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| start to ready (exec -> C-ECHO answered, incl. echoscu's own start) | {readySeconds * 1000:0} ms | <= 1000 ms |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| end to end / storescp receive (4 senders: first send -> last result, over storescp's storescu wall time) | {quad.Seconds / dcmtkFour:0.0} x | |");
        report.AppendLine();
        report.AppendLine("Where the time goes inside the appliance (its own per-stage times from results.jsonl, median ms; queueing between stages not included):");
        report.AppendLine();
        report.AppendLine("| phase | " + string.Join(" | ", quad.Stages.Keys) + " |");
        report.AppendLine("| --- |" + string.Concat(quad.Stages.Keys.Select(_ => " ---: |")));
        foreach (var phase in new[] { one, quad })
        {
            report.AppendLine($"| {phase.Name} | " + string.Join(" | ", quad.Stages.Keys.Select(k => phase.Stages.TryGetValue(k, out var t) ? Measure.Percentile(t, 0.5).ToString("0", CultureInfo.InvariantCulture) : "-")) + " |");
        }

        report.AppendLine();
        var plot = Path.Combine(Repo.Root, "out", "bench", "e2e-latency.png");
        Directory.CreateDirectory(Path.GetDirectoryName(plot)!);
        await File.WriteAllBytesAsync(plot, LatencyPlot.Cdf([one.Latencies, quad.Latencies], ["1 sender", "4 senders"]));
        report.AppendLine("Latency CDF: `e2e-latency.png` (dark: 1 sender, light: 4 senders).");
        await Measure.PublishAsync("e2e.md", report.ToString());
        return one.Missing + quad.Missing + shared.Missing == 0 ? 0 : 1;
    }

    private static double P(Phase phase, double q) => P(phase.Latencies, q);

    private static double P(List<double> latencies, double q) => latencies.Count == 0 ? double.NaN : Measure.Percentile(latencies, q);

    private static string Row(Phase phase, double? dcmtkSeconds) => string.Create(
        CultureInfo.InvariantCulture,
        $"| {phase.Name} | {phase.Sent} | {phase.Latencies.Count} | {P(phase, 0.5):0} | {P(phase, 0.95):0} | {P(phase, 0.99):0} | {(phase.Latencies.Count == 0 ? double.NaN : phase.Latencies.Max()):0} | {P(phase.SubscriberLatencies, 0.5):0} | {P(phase.SubscriberLatencies, 0.95):0} | {phase.ImagesPerSecond:0.0} | {phase.SendSeconds:0.00} | {(dcmtkSeconds is { } d ? d.ToString("0.00", CultureInfo.InvariantCulture) : "-")} | {(dcmtkSeconds is { } r ? (phase.SendSeconds / r).ToString("0.00", CultureInfo.InvariantCulture) : "-")} |");

    /// <summary>Copies of four generated images, each under its own SOP Instance UID (same length, patched in place), named after it.</summary>
    private static List<string> MakeImages(string folder, string tag, int count)
    {
        var bases = new List<(byte[] Bytes, string Uid)>();
        var sources = Directory.GetFiles(Path.Combine(Repo.Shenzhen, "images"), "*.png").Order(StringComparer.Ordinal).Take(4).ToList();
        for (var seed = 1; seed <= sources.Count; seed++)
        {
            var path = Path.Combine(folder, $"base-{tag}{seed}.dcm");
            SyntheticDicom.Write(path, sources[seed - 1], 2048, seed);
            bases.Add((File.ReadAllBytes(path), $"{BaseUidPrefix}{seed}2048"));
            File.Delete(path);
        }

        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var (bytes, uid) = bases[i % bases.Count];
            var unique = $"{BaseUidPrefix}{(tag == "a" ? 8 : 9)}{i:0000}";
            var copy = DicomCopies.Patch(bytes, uid, unique);
            var path = Path.Combine(folder, unique + ".dcm");
            File.WriteAllBytes(path, copy);
            files.Add(path);
        }

        return files;
    }

    private static List<List<string>> Split(List<string> files, int senders) =>
        [.. Enumerable.Range(0, senders).Select(s => files.Where((_, i) => i % senders == s).ToList())];

    private sealed record Phase(string Name, int Sent, List<double> Latencies, List<double> SubscriberLatencies, double Seconds, double SendSeconds, int Missing, Dictionary<string, List<double>> Stages)
    {
        public double ImagesPerSecond => Latencies.Count / Seconds;
    }

    private static async Task<Phase> PhaseAsync(string name, int port, List<List<string>> senders, Arrivals arrivals, string results, ChildProcess appliance)
    {
        var start = Stopwatch.GetTimestamp();
        var responses = await Task.WhenAll(senders.Select(files => StorescuSession.SendAsync("EDGE", port, [], files)));
        var sendSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return await CollectAsync(name, responses.SelectMany(r => r).ToDictionary(), start, sendSeconds, arrivals, results, appliance);
    }

    /// <summary>The shared files as the console sends them, each in its own transfer syntax, one association each.</summary>
    private static async Task<Phase> SendSharedAsync(int port, Arrivals arrivals, string results, ChildProcess appliance)
    {
        (string File, string Proposal)[] pushes =
        [
            (Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi"),
            (Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm"), "-xw"),
            (Path.Combine(Repo.SharedDicom, "966_fixed.dcm"), "-xv"),
            (Path.Combine(Repo.SharedDicom, "JPEG2KLossless_1s_1f_u_16_16.dcm"), "-xv"),
            (Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm"), "-xs"),
        ];
        var start = Stopwatch.GetTimestamp();
        var responses = new Dictionary<string, long>();
        foreach (var (file, proposal) in pushes)
        {
            foreach (var (path, at) in await StorescuSession.SendAsync("EDGE", port, [proposal], [file]))
            {
                responses[path] = at;
            }
        }

        var sendSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return await CollectAsync("shared DICOM files (5, mixed syntaxes, first is the cold start)", responses, start, sendSeconds, arrivals, results, appliance);
    }

    /// <summary>Waits for every sent image's result message (or 10 minutes), then pairs response and arrival per image.</summary>
    private static async Task<Phase> CollectAsync(string name, Dictionary<string, long> responses, long start, double sendSeconds, Arrivals arrivals, string results, ChildProcess appliance)
    {
        var uids = new Dictionary<string, string>();
        foreach (var path in responses.Keys)
        {
            uids[await SopInstanceUidAsync(path) + ".dcm"] = path;
        }

        var ids = new Dictionary<string, string>();
        var stages = new Dictionary<string, List<double>>();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(10) && !appliance.HasExited)
        {
            (ids, stages) = ResultIds(results, uids);
            if (ids.Count == uids.Count && ids.Keys.All(arrivals.Collector.Contains) && ids.Keys.All(arrivals.Subscriber.Contains))
            {
                break;
            }

            await Task.Delay(50);
        }

        var latencies = new List<double>();
        var subscriberLatencies = new List<double>();
        long last = start;
        foreach (var (id, path) in ids)
        {
            if (arrivals.Collector.TryGet(id, out var arrived))
            {
                latencies.Add((arrived - responses[path]) * 1000.0 / Stopwatch.Frequency);
                last = Math.Max(last, arrived);
            }

            if (arrivals.Subscriber.TryGet(id, out var seen))
            {
                subscriberLatencies.Add((seen - responses[path]) * 1000.0 / Stopwatch.Frequency);
            }
        }

        var seconds = (last - start) / (double)Stopwatch.Frequency;
        return new Phase(name, responses.Count, latencies, subscriberLatencies, seconds, sendSeconds, responses.Count - latencies.Count, stages);
    }

    /// <summary>
    /// Result id per sent file, from results.jsonl (the appliance names a received object after its SOP Instance UID),
    /// and the appliance's own per-stage times of those results.
    /// </summary>
    private static (Dictionary<string, string> Ids, Dictionary<string, List<double>> Stages) ResultIds(string results, Dictionary<string, string> byFileName)
    {
        var ids = new Dictionary<string, string>();
        var stages = new Dictionary<string, List<double>>();
        if (!File.Exists(results))
        {
            return (ids, stages);
        }

        using var stream = new FileStream(results, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.EndsWith('}'))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var file = json.RootElement.GetProperty("file").GetString() ?? "";
            if (byFileName.TryGetValue(file, out var path))
            {
                ids[json.RootElement.GetProperty("id").GetString()!] = path;
                foreach (var stage in json.RootElement.GetProperty("timings").EnumerateObject())
                {
                    (stages.TryGetValue(stage.Name, out var times) ? times : stages[stage.Name] = []).Add(stage.Value.GetDouble());
                }
            }
        }

        return (ids, stages);
    }

    private static async Task<string> SopInstanceUidAsync(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        if (name.StartsWith(BaseUidPrefix, StringComparison.Ordinal))
        {
            return name;
        }

        return await DicomCopies.SopInstanceUidAsync(path);
    }

    private static async Task<double> SendAllAsync(string calledAe, int port, List<List<string>> senders)
    {
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(senders.Select(files => StorescuSession.SendAsync(calledAe, port, [], files)));
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double PeakRssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}

/// <summary>
/// Where results are observed, keyed by the result id the appliance assigns: the provincial collector's commits (the
/// figure the goals are about), and a plain MQTT subscriber of the broker beside it.
/// </summary>
public interface IResultArrivals : IAsyncDisposable
{
    bool Contains(string resultId);

    /// <summary>The <see cref="Stopwatch"/> timestamp of the first message carrying <paramref name="resultId"/>.</summary>
    bool TryGet(string resultId, out long timestamp);
}

/// <summary>An MQTT 5 subscriber on every device's result topic, stamping each id's first arrival.</summary>
public sealed class MqttResultArrivals : IResultArrivals
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly ConcurrentDictionary<string, long> _arrivals = new();

    public static async Task<MqttResultArrivals> ConnectAsync(int port)
    {
        var arrivals = new MqttResultArrivals();
        arrivals._client.ApplicationMessageReceivedAsync += e =>
        {
            var at = Stopwatch.GetTimestamp();
            using var json = JsonDocument.Parse(e.ApplicationMessage.ConvertPayloadToString());
            arrivals._arrivals.TryAdd(json.RootElement.GetProperty("id").GetString()!, at);
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId("bench-e2e").Build();
        await arrivals._client.ConnectAsync(options);
        await arrivals._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("tb/v1/+/+/result", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return arrivals;
    }

    public bool Contains(string resultId) => _arrivals.ContainsKey(resultId);

    public bool TryGet(string resultId, out long timestamp) => _arrivals.TryGetValue(resultId, out timestamp);

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}

/// <summary>Both places a result is timed at, in one run.</summary>
internal sealed record Arrivals(IResultArrivals Collector, IResultArrivals Subscriber);

/// <summary>
/// The provincial collector (in process: MQTT ingest into SQLite, as `edge-collector run` composes it), stamping each
/// result id when the transaction holding it has committed (<see cref="MqttIngest.ResultsCommitted"/>).
/// </summary>
public sealed class CollectorResultArrivals : IResultArrivals
{
    private readonly ConcurrentDictionary<string, long> _arrivals = new();
    private CollectorHost? _host;

    public static async Task<CollectorResultArrivals> StartAsync(int brokerPort, string database)
    {
        var options = new CollectorOptions
        {
            Mqtt = { Host = "127.0.0.1", Port = brokerPort, UseTls = false, ClientId = "bench-collector", ShareGroup = "" },
            Sqlite = { Path = database },
            Web = { Urls = "" },
        };
        var arrivals = new CollectorResultArrivals();
        arrivals._host = await CollectorHost.StartAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);
        arrivals._host.Ingest.ResultsCommitted += ids =>
        {
            var at = Stopwatch.GetTimestamp();
            foreach (var id in ids)
            {
                arrivals._arrivals.TryAdd(id, at);
            }
        };
        await arrivals._host.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(60));
        return arrivals;
    }

    public bool Contains(string resultId) => _arrivals.ContainsKey(resultId);

    public bool TryGet(string resultId, out long timestamp) => _arrivals.TryGetValue(resultId, out timestamp);

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
