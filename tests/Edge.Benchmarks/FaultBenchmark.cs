using System.Globalization;
using System.Text;
using Edge.Faults;
using Edge.TestSupport;

namespace Edge.Benchmarks;

/// <summary>
/// `./edge bench faults [--images N] [--kills K] [--max-delay-ms D]`: the long kill -9 run of issue 9 (500 images,
/// 6 kills by default) through the published appliance, a real Mosquitto and the collector, the same code as the suite's
/// bounded CrashRecoveryTests. Writes out/bench/faults.md: where each kill landed, what the collector holds, duplicates,
/// what the console had to resend, and how long recovery took. Exit code 1 when any image is not accounted for once.
/// </summary>
public static class FaultBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var plan = new KillRunPlan
        {
            Images = Option(args, "--images", 500),
            Kills = Option(args, "--kills", 6),

            // Long enough that the kills spread over the run, not all in its first seconds.
            MaxKillDelay = TimeSpan.FromMilliseconds(Option(args, "--max-delay-ms", 20000)),
            Limit = TimeSpan.FromMinutes(30),
        };
        using var temp = new TempDirectory("edge-bench-faults");
        var run = await KillRun.RunAsync(plan, temp, Console.WriteLine);

        var problems = new List<string>();
        problems.AddRange(run.NamesNotRecordedOnce.Select(p => $"{p.Key}: {p.Value} results on the appliance"));
        problems.AddRange(run.UnknownNames.Select(n => $"{n}: a result for an image never sent"));
        problems.AddRange(run.CollectorRepeats.Select(id => $"{id}: more than once at the collector"));
        problems.AddRange(run.Mismatches);
        problems.AddRange(run.WrongOutcomes);
        problems.AddRange(run.AcknowledgedButLost.Select(n => $"{n}: acknowledged to the console, no result"));
        if (run.Collector.Count != plan.Images)
        {
            problems.Add($"the collector holds {run.Collector.Count} results for {plan.Images} images");
        }

        var chest = run.Sent.Values.Count(c => c);
        var byStore = run.Sent.Keys.Count(n => !n.StartsWith("img", StringComparison.Ordinal));
        var report = new StringBuilder();
        void Line(FormattableString text) => report.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        Line($"# kill -9 during a {plan.Images}-image run, counted at the provincial collector ({Environment.ProcessorCount} CPUs, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the end)");
        report.AppendLine();
        Line($"Published edge-appliance (Native AOT, CPU) -> Mosquitto -> collector (SQLite). {plan.Images - byStore} images by the watched folder, {byStore} by C-STORE from DCMTK storescu ({plan.FilesPerAssociation} per association, two senders); {chest} chests, {plan.Images - chest} hips that must be rejected. Each run was killed with SIGKILL once it had recorded a new result, after a random delay up to {plan.MaxKillDelay.TotalMilliseconds:0} ms; the console resent what was not acknowledged.");
        report.AppendLine();
        report.AppendLine("| kill | s into the whole run | s into its run | results recorded | images registered | files in spool | outbox unsent | at collector | C-STOREs acknowledged | C-STOREs taken, not answered | associations open |");
        report.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var k in run.Kills)
        {
            Line($"| {k.Round} | {k.SecondsIntoRun:0.0} | {k.RunSeconds:0.0} | {k.Recorded} | {k.Registered} | {k.InSpool} | {k.Unsent} | {k.AtCollector} | {k.Acknowledged} | {k.TakenUnanswered} | {k.AssociationsOpen} |");
        }

        report.AppendLine();
        report.AppendLine("| measure | value |");
        report.AppendLine("| --- | ---: |");
        Line($"| images sent | {plan.Images} |");
        Line($"| kills | {run.Kills.Count} |");
        Line($"| results at the collector | {run.Collector.Count} |");
        Line($"| ids held more than once at the collector | {run.CollectorRepeats.Count} |");
        Line($"| images with other than one result on the appliance | {run.NamesNotRecordedOnce.Count} |");
        Line($"| collector record differing from the appliance's (status, referral, reasons) | {run.Mismatches.Count} |");
        Line($"| screened | {run.Collector.Count(c => c.Status == "screened")} |");
        Line($"| rejected, with reason | {run.Collector.Count(c => c.Status == "rejected" && c.Qc.Count > 0)} ({string.Join(", ", run.Collector.SelectMany(c => c.Qc).Distinct())}) |");
        Line($"| wrong outcomes (chest not screened, hip not rejected) | {run.WrongOutcomes.Count} |");
        Line($"| C-STOREs acknowledged / acknowledged but lost | {run.Acknowledged.Count} / {run.AcknowledgedButLost.Count} |");
        Line($"| storescu associations / cut by a kill | {run.Associations} / {run.FailedAssociations} |");
        Line($"| files the console resent | {run.Resent} |");
        Line($"| result messages the collector got again (absorbed by id) | {run.CollectorDuplicates} |");
        Line($"| start or restart -> C-ECHO answered (console can send), s (per run) | {string.Join(", ", run.StartToReadySeconds.Select(s => s.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        Line($"| start or restart -> first new result, s (per run) | {string.Join(", ", run.RestartToResultSeconds.Select(s => s.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        Line($"| last restart -> collector holds everything, s | {run.FinalRestartToCompleteSeconds:0.0} |");
        Line($"| whole run, s | {run.Seconds:0.0} |");
        Line($"| left in spool / inbox; final exit code | {run.LeftInSpool} / {run.LeftInInbox}; {run.FinalExitCode} |");
        report.AppendLine();
        report.AppendLine(problems.Count == 0 ? "Every image accounted for once, at the appliance and at the collector." : "Problems:\n\n" + string.Join('\n', problems.Take(50).Select(p => "- " + p)));
        await Measure.PublishAsync("faults.md", report.ToString());
        return problems.Count == 0 ? 0 : 1;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
