using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Edge.Dicom.Network;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench dicom [--iterations N]`: how long our C-STORE SCP takes to receive a 2048 x 2048 16-bit image (written
/// durably before it answers) against DCMTK's storescp receiving the same files from the same storescu command, in the
/// same run. Each round is one storescu association sending the file N times; rounds alternate between the two peers.
/// Writes out/bench/dicom.md.
/// </summary>
public static class DicomReceiveBenchmark
{
    private const int Rounds = 7;

    public static async Task<int> RunAsync(string[] args)
    {
        var perRound = args.Length > 2 && args[1] == "--iterations" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        using var temp = new TempDirectory("edge-bench-dicom");
        var image = temp.Combine("dx-2048x2048-16bit.dcm");
        SyntheticDicom.Write(image, Path.Combine(Repo.Shenzhen, "images", "CHNCXR_0001_0.png"), 2048, seed: 2);
        var files = Enumerable.Repeat(image, perRound).ToArray();

        var ours = new DicomScpOptions { AeTitle = "EDGE", Port = 0, BindAddress = IPAddress.Loopback, FreeDiskFloorBytes = 0, TemporaryDirectory = temp.Combine("incoming") };
        await using var scp = new DicomScp(ours, new SpoolingStoreSink(temp.Combine("received")), NullLogger<DicomScp>.Instance);
        await scp.StartAsync(CancellationToken.None);

        var storescpPort = Ports.Free();
        Directory.CreateDirectory(temp.Combine("storescp"));
        await using var storescp = ChildProcess.Start("storescp", ["-aet", "STORESCP", "+xa", "-od", temp.Combine("storescp"), storescpPort.ToString(CultureInfo.InvariantCulture)], temp.Path);
        await Ports.WaitUntilListeningAsync(storescpPort, storescp);

        var edgeTimes = new List<double>();
        var dcmtkTimes = new List<double>();
        for (var round = 0; round < Rounds + 1; round++)
        {
            var edge = await SendAsync("EDGE", scp.Port, files);
            var dcmtk = await SendAsync("STORESCP", storescpPort, files);
            if (round > 0)
            {
                // The first round warms caches and the JIT on both sides.
                edgeTimes.Add(edge / perRound);
                dcmtkTimes.Add(dcmtk / perRound);
            }
        }

        var edgeMedian = Measure.Percentile(edgeTimes, 0.5);
        var dcmtkMedian = Measure.Percentile(dcmtkTimes, 0.5);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# C-STORE receive, 2048 x 2048 16-bit ({new FileInfo(image).Length / 1024} KiB), {Rounds} rounds of {perRound} images, one storescu association per round");
        report.AppendLine();
        report.AppendLine("| receiver | median ms per image | p95 ms per image |");
        report.AppendLine("| --- | ---: | ---: |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| Edge SCP (fsync + rename before success) | {edgeMedian:0.0} | {Measure.Percentile(edgeTimes, 0.95):0.0} |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| DCMTK storescp | {dcmtkMedian:0.0} | {Measure.Percentile(dcmtkTimes, 0.95):0.0} |");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Ratio Edge / storescp (medians): {edgeMedian / dcmtkMedian:0.00}");
        await Measure.PublishAsync("dicom.md", report.ToString());
        return 0;
    }

    private static async Task<double> SendAsync(string calledAe, int port, string[] files)
    {
        var watch = Stopwatch.StartNew();
        var result = await ChildProcess.RunAsync("storescu", ["-aec", calledAe, "-aet", "BENCH", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), .. files], TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"storescu to {calledAe} failed: {result.Stderr}");
        }

        return watch.Elapsed.TotalMilliseconds;
    }
}
