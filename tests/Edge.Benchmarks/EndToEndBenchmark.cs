using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Edge.Imaging;
using Edge.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench e2e [--images N] [--long]`: the published Native AOT appliance (`run`) with a real Mosquitto, driven by
/// DCMTK storescu as a console would (1 sender, then 4 concurrent associations) with 2048 x 2048 16-bit images and the
/// shared DICOM files. Latency is C-STORE response at the sender to the result message at a subscriber of the broker;
/// the subscriber is the one seam (<see cref="IResultArrivals"/>) to swap for the provincial collector. Also: throughput,
/// the appliance's peak RSS, start-to-ready, and DCMTK storescp receiving the same files in the same run.
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
        await using IResultArrivals arrivals = await MqttResultArrivals.ConnectAsync(broker.Port);

        var dicomPort = Ports.Free();
        var config = WriteConfig(temp, broker.Port, dicomPort);
        var started = Stopwatch.GetTimestamp();
        await using var appliance = ChildProcess.Start(binary, ["run", "--config", config], temp.Path);
        var readySeconds = await WaitUntilEchoAsync(dicomPort, appliance, started);

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
        report.AppendLine(CultureInfo.InvariantCulture, $"# End to end: storescu -> edge-appliance (Native AOT, CPU) -> Mosquitto -> subscriber ({Environment.ProcessorCount} CPUs, load average {LoadAverage()} at the end)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Images: 2048 x 2048 16-bit DX ({new FileInfo(single[0]).Length / 1024} KiB each, Explicit VR LE); {single.Count} over 1 association, then {four.Count} over 4 concurrent associations; before them the {shared.Latencies.Count} shared DICOM files, one association each. Latency: `Received Store Response` in storescu's log -> result message (QoS 1) at an MQTT subscriber, matched through `results.jsonl` (file name = SOP Instance UID -> result id, the id in the message).");
        report.AppendLine();
        report.AppendLine("| phase | images | results | p50 ms | p95 ms | p99 ms | max ms | images/s (first send -> last result) | storescu wall s (edge) | storescu wall s (storescp) | receive ratio edge / storescp |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        report.AppendLine(Row(shared, null));
        report.AppendLine(Row(one, dcmtkOne));
        report.AppendLine(Row(quad, dcmtkFour));
        report.AppendLine();
        report.AppendLine("| measure | value | goal |");
        report.AppendLine("| --- | ---: | ---: |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| p50 latency, 4 senders | {P(quad, 0.5):0} ms | <= 300 ms |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| p95 latency, 4 senders | {P(quad, 0.95):0} ms | <= 1000 ms |");
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

    private static double P(Phase phase, double q) => phase.Latencies.Count == 0 ? double.NaN : Measure.Percentile(phase.Latencies, q);

    private static string Row(Phase phase, double? dcmtkSeconds) => string.Create(
        CultureInfo.InvariantCulture,
        $"| {phase.Name} | {phase.Sent} | {phase.Latencies.Count} | {P(phase, 0.5):0} | {P(phase, 0.95):0} | {P(phase, 0.99):0} | {(phase.Latencies.Count == 0 ? double.NaN : phase.Latencies.Max()):0} | {phase.ImagesPerSecond:0.0} | {phase.SendSeconds:0.00} | {(dcmtkSeconds is { } d ? d.ToString("0.00", CultureInfo.InvariantCulture) : "-")} | {(dcmtkSeconds is { } r ? (phase.SendSeconds / r).ToString("0.00", CultureInfo.InvariantCulture) : "-")} |");

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
            var copy = Patch(bytes, uid, unique);
            var path = Path.Combine(folder, unique + ".dcm");
            File.WriteAllBytes(path, copy);
            files.Add(path);
        }

        return files;
    }

    private static byte[] Patch(byte[] bytes, string from, string to)
    {
        var copy = (byte[])bytes.Clone();
        var needle = Encoding.ASCII.GetBytes(from);
        var replacement = Encoding.ASCII.GetBytes(to);
        var span = copy.AsSpan(0, Math.Min(copy.Length, 4096));
        var replaced = 0;
        for (int at; (at = span.IndexOf(needle)) >= 0; replaced++)
        {
            replacement.CopyTo(span[at..]);
        }

        return replaced == 2 ? copy : throw new InvalidOperationException($"expected the UID twice in the header, found it {replaced} times");
    }

    private static List<List<string>> Split(List<string> files, int senders) =>
        [.. Enumerable.Range(0, senders).Select(s => files.Where((_, i) => i % senders == s).ToList())];

    private static string WriteConfig(TempDirectory temp, int brokerPort, int dicomPort)
    {
        var key = temp.Combine("pseudonym.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        Directory.CreateDirectory(temp.Combine("inbox"));
        var config = new Dictionary<string, object?>
        {
            ["Edge"] = new Dictionary<string, object?>
            {
                ["Site"] = new Dictionary<string, object?> { ["Id"] = Site, ["TimeZone"] = "UTC" },
                ["Device"] = new Dictionary<string, object?> { ["Id"] = Device },
                ["Storage"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("data") },
                ["Model"] = new Dictionary<string, object?> { ["Path"] = Repo.ModelBundles, ["PublicKeyPath"] = Repo.DevPublicKey, ["Providers"] = new[] { "Cpu" } },
                ["Hardware"] = new Dictionary<string, object?> { ["Profile"] = "simulated", ["LightsLog"] = temp.Combine("out", "lights.log"), ["SlipDirectory"] = temp.Combine("out", "slips") },
                ["Intake"] = new Dictionary<string, object?> { ["WatchPath"] = temp.Combine("inbox") },
                ["Output"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("out") },
                ["Dicom"] = new Dictionary<string, object?> { ["Port"] = dicomPort, ["AeTitle"] = "EDGE" },
                ["Mqtt"] = new Dictionary<string, object?> { ["Host"] = "127.0.0.1", ["Port"] = brokerPort, ["UseTls"] = false },
                ["Sync"] = new Dictionary<string, object?> { ["PseudonymKeyPath"] = key },
            },
        };
        var path = temp.Combine("appsettings.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    /// <summary>Seconds from exec to the first answered C-ECHO: a TCP connect is tried every few ms, then echoscu confirms.</summary>
    private static async Task<double> WaitUntilEchoAsync(int port, ChildProcess appliance, long started)
    {
        var limit = Stopwatch.StartNew();
        while (limit.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (appliance.HasExited)
            {
                throw new InvalidOperationException("edge-appliance stopped: " + appliance.Stderr);
            }

            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
                await Task.Delay(2);
                continue;
            }

            probe.Close();
            var echo = await ChildProcess.RunAsync("echoscu", ["-aec", "EDGE", "-aet", "BENCH", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(30));
            if (echo.ExitCode == 0)
            {
                return Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }

        throw new TimeoutException("edge-appliance did not answer C-ECHO within 2 minutes: " + appliance.Stderr);
    }

    private sealed record Phase(string Name, int Sent, List<double> Latencies, double Seconds, double SendSeconds, int Missing, Dictionary<string, List<double>> Stages)
    {
        public double ImagesPerSecond => Latencies.Count / Seconds;
    }

    private static async Task<Phase> PhaseAsync(string name, int port, List<List<string>> senders, IResultArrivals arrivals, string results, ChildProcess appliance)
    {
        var start = Stopwatch.GetTimestamp();
        var responses = await Task.WhenAll(senders.Select(files => StorescuSession.SendAsync("EDGE", port, [], files)));
        var sendSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return await CollectAsync(name, responses.SelectMany(r => r).ToDictionary(), start, sendSeconds, arrivals, results, appliance);
    }

    /// <summary>The shared files as the console sends them, each in its own transfer syntax, one association each.</summary>
    private static async Task<Phase> SendSharedAsync(int port, IResultArrivals arrivals, string results, ChildProcess appliance)
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
    private static async Task<Phase> CollectAsync(string name, Dictionary<string, long> responses, long start, double sendSeconds, IResultArrivals arrivals, string results, ChildProcess appliance)
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
            if (ids.Count == uids.Count && ids.Keys.All(arrivals.Contains))
            {
                break;
            }

            await Task.Delay(50);
        }

        var latencies = new List<double>();
        long last = start;
        foreach (var (id, path) in ids)
        {
            if (arrivals.TryGet(id, out var arrived))
            {
                latencies.Add((arrived - responses[path]) * 1000.0 / Stopwatch.Frequency);
                last = Math.Max(last, arrived);
            }
        }

        var seconds = (last - start) / (double)Stopwatch.Frequency;
        return new Phase(name, responses.Count, latencies, seconds, sendSeconds, responses.Count - latencies.Count, stages);
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

        var dump = await ChildProcess.RunAsync("dcmdump", ["-s", "+P", "0008,0018", path], TimeSpan.FromSeconds(30));
        var open = dump.Stdout.IndexOf('[', StringComparison.Ordinal);
        var close = dump.Stdout.IndexOf(']', StringComparison.Ordinal);
        return open >= 0 && close > open ? dump.Stdout[(open + 1)..close] : throw new InvalidOperationException("no SOP Instance UID in " + path);
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
/// Where result messages are observed, keyed by the result id the appliance assigns. The one seam to swap: today an
/// MQTT subscriber on the broker, later the provincial collector's record.
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

/// <summary>One storescu association; each file's C-STORE response is stamped as storescu logs it (it flushes every line).</summary>
public static class StorescuSession
{
    public static async Task<List<(string File, long At)>> SendAsync(string calledAe, int port, string[] options, IReadOnlyList<string> files)
    {
        var info = new ProcessStartInfo("storescu") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-v", "-aec", calledAe, "-aet", "BENCH" }.Concat(options).Concat(["127.0.0.1", port.ToString(CultureInfo.InvariantCulture)]).Concat(files))
        {
            info.ArgumentList.Add(argument);
        }

        var stamped = new List<(string File, long At)>();
        var log = new StringBuilder();
        string? current = null;
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            var at = Stopwatch.GetTimestamp();
            if (e.Data is not { } line)
            {
                return;
            }

            lock (stamped)
            {
                log.AppendLine(line);
                if (line.StartsWith("I: Sending file: ", StringComparison.Ordinal))
                {
                    current = line["I: Sending file: ".Length..];
                }
                else if (line.StartsWith("I: Received Store Response (Success)", StringComparison.Ordinal) && current is not null)
                {
                    stamped.Add((current, at));
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        lock (stamped)
        {
            return process.ExitCode == 0 && stamped.Count == files.Count ? stamped : throw new InvalidOperationException($"storescu to {calledAe} failed ({process.ExitCode}):\n{log}");
        }
    }
}
