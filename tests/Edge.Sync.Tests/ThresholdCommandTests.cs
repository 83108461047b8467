using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>The programme's calibrated threshold, through the running appliance: used for the next results, kept across a restart.</summary>
public sealed class ThresholdCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-threshold");

    [Fact]
    public async Task Run_ThresholdCommand_NextResultsCarryItAndARestartKeepsIt()
    {
        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var programme = new Subscriber();
        await programme.ConnectAsync(broker.Port, "tb/v1/#");
        var options = ApplianceHost.OptionsFor(_temp, broker.Port, ApplianceHost.WriteKey(_temp));

        await using (var first = await ApplianceHost.StartAsync(options))
        {
            await first.WaitForLogAsync(l => l.Text.StartsWith("Connected to the broker", StringComparison.Ordinal));
            await programme.PublishAsync("tb/v1/site-a/dev-1/cmd/threshold", """{"id":"cal-1","issuedBy":"tb-programme/test","threshold":37.5}""");
            await programme.WaitForAsync(r => r.Any(m => m.Topic == "tb/v1/site-a/dev-1/cmd/threshold/reply"));
            OutageTests.CopyImages(first.Inbox, 1);
            await programme.WaitForAsync(r => r.Any(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)));
        }

        var result = JsonDocument.Parse(programme.Received.Single(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)).Payload).RootElement;
        Assert.Equal(37.5, result.GetProperty("threshold").GetDouble());

        await using var second = await ApplianceHost.StartAsync(options);
        Assert.Equal(0.375, second.Appliance.Threshold.Decide(0).Threshold);
        Assert.Equal(Domain.ThresholdSource.Site, second.Appliance.Threshold.Decide(0).Source);

        // The restart finds the threshold it last audited in force, so it does not audit a change.
        var changes = second.Appliance.Store.Audit().Where(a => a.Action == "threshold-changed").Select(a => a.Detail).ToList();
        Assert.Equal(2, changes.Count);
        Assert.StartsWith("0.375000 from site (model tb-cxr", changes[1], StringComparison.Ordinal);
        Assert.EndsWith("set by command cal-1 from tb-programme/test", changes[1], StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();
}
