using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>The slip print queue in the published appliance: a printer that is not there keeps the slip for the next run.</summary>
public sealed class SlipQueueRunTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _temp = new("edge-slips");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Run_PrinterUnplugged_SlipKeptThenPrintedOnceByTheNextRun()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        Directory.CreateDirectory(_temp.Combine("inbox"));
        File.Copy(Repo.UprightChestDicomSamples[0], _temp.Combine("inbox", "a.dcm"));
        var unplugged = new Dictionary<string, string> { ["Edge__Hardware__PrinterPort"] = _temp.Combine("ttyUSB-unplugged") };

        var first = await ChildProcess.RunAsync(PublishedAppliance.Path, ["run", "--config", config, "--until-idle"], Timeout, _temp.Path, unplugged);
        string id;
        using (var store = Edge.Storage.ScreeningStore.Open(_temp.Combine("data", "edge.db")))
        {
            var kept = Assert.Single(store.PendingPrintJobs());
            id = kept.ResultId;
            Assert.Contains(store.Audit(id), a => a.Action == "slip-queued");
            Assert.DoesNotContain(store.Audit(id), a => a.Action == "slip-printed");
        }

        var second = await ChildProcess.RunAsync(PublishedAppliance.Path, ["run", "--config", config, "--until-idle"], Timeout, _temp.Path);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("kept until it is back: printer-offline", first.Stderr, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.Stderr);
        using var reopened = Edge.Storage.ScreeningStore.Open(_temp.Combine("data", "edge.db"));
        Assert.Empty(reopened.PendingPrintJobs());
        Assert.Single(reopened.Audit(id), a => a.Action == "slip-printed");
        Assert.True(File.Exists(_temp.Combine("out", "slips", id + ".escpos")));
    }
}
