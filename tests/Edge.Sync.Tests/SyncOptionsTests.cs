using Edge.Appliance;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary><c>Edge:Sync</c> is checked at start, each problem naming its key.</summary>
public sealed class SyncOptionsTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-sync-options");

    [Fact]
    public void Validate_ProvincialBrokerWithoutPseudonymKey_NamesTheKey()
    {
        var options = ApplianceHost.OptionsFor(_temp, 8883, "");
        options.Sync.PseudonymKeyPath = null;

        Assert.Contains(options.Validate(), p => p.StartsWith("Edge:Sync:PseudonymKeyPath is not set", StringComparison.Ordinal));

        options.Mqtt.Host = "";
        Assert.DoesNotContain(options.Validate(), p => p.Contains("PseudonymKeyPath", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_KeyMissingOrShort_Refused()
    {
        var shortKey = _temp.Combine("short.key");
        File.WriteAllBytes(shortKey, new byte[31]);

        Assert.Contains(ApplianceHost.OptionsFor(_temp, 8883, _temp.Combine("absent.key")).Validate(), p => p.Contains("absent.key does not exist", StringComparison.Ordinal));
        Assert.Contains(ApplianceHost.OptionsFor(_temp, 8883, shortKey).Validate(), p => p.Contains("fewer than 32 bytes", StringComparison.Ordinal));
        Assert.DoesNotContain(ApplianceHost.OptionsFor(_temp, 8883, ApplianceHost.WriteKey(_temp)).Validate(), p => p.Contains("Edge:Sync", StringComparison.Ordinal));
    }

    public void Dispose() => _temp.Dispose();
}
