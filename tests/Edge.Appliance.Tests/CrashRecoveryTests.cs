using Edge.Faults;
using Edge.TestSupport;
using Xunit.Abstractions;

namespace Edge.Appliance.Tests;

/// <summary>
/// Power cuts and crashes, counted where the programme counts: the published appliance, fed by its watched folder and
/// by DCMTK storescu, syncing through a real Mosquitto to the real collector, killed (SIGKILL) at random moments and
/// restarted. The bounded run of <c>./edge bench faults</c> (same code, <see cref="KillRun"/>).
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new("edge-crash");

    [Fact]
    public async Task Run_KilledRepeatedlyMidRun_CollectorHoldsEveryImageOnceAsRecorded()
    {
        var plan = new KillRunPlan { Images = 60, Kills = 3 };
        var run = await KillRun.RunAsync(plan, _temp, output.WriteLine);

        // The kills must have hit a run in progress, or they prove nothing.
        Assert.True(run.Kills[^1].Recorded < plan.Images, $"every image was recorded before the last kill ({run.Kills[^1].Recorded})");

        // Every image sent has exactly one result on the appliance, and nothing else has one.
        Assert.Equal(plan.Images, run.Sent.Count);
        Assert.Empty(run.NamesNotRecordedOnce);
        Assert.Empty(run.UnknownNames);
        Assert.Equal(plan.Images, run.Appliance.Count);

        // The collector holds exactly those results, each once, as the appliance recorded them (status, referral, reasons).
        Assert.Equal(plan.Images, run.Collector.Count);
        Assert.Empty(run.CollectorRepeats);
        Assert.Empty(run.Mismatches);

        // Chests screened, the hips rejected with their reason.
        Assert.Empty(run.WrongOutcomes);
        Assert.Equal(plan.Images / 5, run.Collector.Count(c => c.Status == "rejected" && c.Qc.Count > 0));

        // What the console was told it delivered is there; what it was not told about it sent again, and it came once.
        Assert.Equal(run.Sent.Keys.Count(n => !n.StartsWith("img", StringComparison.Ordinal)), run.Acknowledged.Count);
        Assert.Empty(run.AcknowledgedButLost);

        Assert.Equal((0, 0, 0), (run.LeftInSpool, run.LeftInInbox, run.FinalExitCode));
        Assert.Equal(plan.Images, Directory.GetFiles(_temp.Combine("data", "archive")).Length);
        output.WriteLine($"{run.Seconds:0.0} s; storescu: {run.Associations} associations, {run.FailedAssociations} cut, {run.Resent} files resent; collector saw {run.CollectorDuplicates} repeated messages");
    }

    public void Dispose() => _temp.Dispose();
}
