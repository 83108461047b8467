using System.Diagnostics;
using System.Globalization;
using System.Text;
using Edge.Appliance;
using Edge.Domain;
using Edge.Inference;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench screen [--iterations N]`: latency of screening one image at a time through the real pipeline, in process,
/// after warm-up, on the CPU provider. Reports medians and p95 per stage and peak RSS; writes out/bench/screen.md.
/// </summary>
public static class ScreenBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var iterations = args.Length > 2 && args[1] == "--iterations" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
        using var temp = new TempDirectory("edge-bench");
        var bigImage = temp.Combine("dx-2048x2048-16bit.dcm");
        SyntheticDicom.Write(bigImage, Path.Combine(Repo.Shenzhen, "images", "CHNCXR_0001_0.png"), 2048, seed: 1);

        var options = new EdgeOptions
        {
            Site = { Id = "bench", TimeZone = "UTC" },
            Device = { Id = "bench" },
            Storage = { Path = temp.Combine("data") },
            Model = { Path = Repo.ModelBundles, PublicKeyPath = Repo.DevPublicKey, Providers = [ExecutionProvider.Cpu] },
            Output = { Path = temp.Combine("out") },
            Hardware = { LightsLog = temp.Combine("out", "lights.log") },
        };
        using var loggers = Cli.CreateLoggers(LogLevel.Warning);
        var startWatch = Stopwatch.StartNew();
        await using var appliance = Edge.Appliance.Appliance.Start(options, loggers);
        var startMs = startWatch.Elapsed.TotalMilliseconds;

        var inputs = new List<(string Name, string Path)> { ("DX 2048x2048 16-bit (synthetic)", bigImage) };
        // Every shared chest file; those refused by the checks stop before inference, and the table says so.
        inputs.AddRange(Repo.ChestDicomSamples.Select(p => (Path.GetFileName(p), p)));
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# screen latency ({appliance.Scorer.ProviderName}, {Environment.ProcessorCount} cores, {iterations} runs each after 3 warm-up runs)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Model {appliance.Bundle.Manifest.Name} {appliance.Bundle.Manifest.Version}; appliance start incl. model load and warm-up: {startMs:0} ms.");
        report.AppendLine();
        report.AppendLine("| image | stage | median ms | p95 ms |");
        report.AppendLine("| --- | --- | ---: | ---: |");
        foreach (var (name, path) in inputs)
        {
            var runs = new List<(double Total, IReadOnlyList<StageTiming> Stages)>();
            var status = "";
            for (var i = 0; i < iterations + 3; i++)
            {
                var watch = Stopwatch.StartNew();
                var image = await appliance.AdmitFileAsync(path, IntakeSource.File, CancellationToken.None);
                await appliance.Pipeline.SubmitAsync(image, CancellationToken.None);
                var done = await appliance.Pipeline.Completed.ReadAsync();
                var total = watch.Elapsed.TotalMilliseconds;
                status = done.Status?.ToString().ToLowerInvariant() ?? "?";
                if (i >= 3)
                {
                    runs.Add((total, done.Timings));
                }
            }

            foreach (var stage in runs[0].Stages.Select(s => s.Stage))
            {
                var values = runs.Select(r => r.Stages.First(s => s.Stage == stage).Milliseconds).ToList();
                report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {stage} | {Measure.Percentile(values, 0.5):0.0} | {Measure.Percentile(values, 0.95):0.0} |");
            }

            var totals = runs.Select(r => r.Total).ToList();
            report.AppendLine(CultureInfo.InvariantCulture, $"| **{name}** ({status}) | **total (admit to acted)** | **{Measure.Percentile(totals, 0.5):0.0}** | **{Measure.Percentile(totals, 0.95):0.0}** |");
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Peak RSS: {Measure.PeakRssMiB():0} MiB.");
        await Measure.PublishAsync("screen.md", report.ToString());
        return 0;
    }
}
