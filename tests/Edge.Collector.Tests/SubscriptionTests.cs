using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Collector.Tests;

/// <summary>What the collector subscribes to, with a share group and without one.</summary>
public sealed class SubscriptionTests
{
    [Fact]
    public async Task TopicFilters_ShareGroupOrNone_SharedOrPlainFilters()
    {
        using var temp = new TempDirectory("edge-collector-filters");
        await using var store = new SqliteCollectorStore(temp.Combine("c.db"));

        var shared = new MqttIngest(new CollectorMqttOptions { Host = "h" }, store, NullLogger.Instance).TopicFilters;
        var plain = new MqttIngest(new CollectorMqttOptions { Host = "h", ShareGroup = "" }, store, NullLogger.Instance).TopicFilters;

        Assert.Equal(["$share/collectors/tb/v1/+/+/result", "$share/collectors/tb/v1/+/+/stats", "$share/collectors/tb/v1/+/+/drift", "tb/v1/+/+/status"], shared);
        Assert.Equal(["tb/v1/+/+/result", "tb/v1/+/+/stats", "tb/v1/+/+/drift", "tb/v1/+/+/status"], plain);
    }

    [Theory]
    [InlineData("collectors", true)]
    [InlineData("", true)]
    [InlineData(" ", false)]
    [InlineData("a/b", false)]
    [InlineData("a+", false)]
    public void Validate_ShareGroup_EmptyAllowedBlankOrWildcardNot(string group, bool valid)
    {
        var problems = new CollectorOptions { Mqtt = { Host = "h", ShareGroup = group } }.Validate();

        Assert.Equal(valid, !problems.Any(p => p.StartsWith("Collector:Mqtt:ShareGroup", StringComparison.Ordinal)));
    }
}
