using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Edge.Faults;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>
/// The Native AOT binary under test: the one <c>./edge test</c> published (EDGE_APPLIANCE_BIN), or published here once
/// when the tests run on their own.
/// </summary>
public static class PublishedAppliance
{
    public static string Path => ApplianceProcess.Path;

    public static Task<ProcessResult> RunAsync(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        ChildProcess.RunAsync(Path, arguments, timeout, workingDirectory);

    /// <summary>A complete configuration in a fresh folder: real committed bundle, dev key, simulated hardware, free ports.</summary>
    public static string WriteConfig(TempDirectory temp, string? modelPath = null, double? siteThreshold = null, (string AeTitle, int Port)? destination = null, bool embeddedBroker = false)
    {
        var config = new Dictionary<string, object?>
        {
            ["Edge"] = new Dictionary<string, object?>
            {
                ["Site"] = new Dictionary<string, object?> { ["Id"] = "test-site", ["TimeZone"] = "UTC" },
                ["Device"] = new Dictionary<string, object?> { ["Id"] = "test-device" },
                ["Storage"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("data") },
                ["Model"] = new Dictionary<string, object?> { ["Path"] = modelPath ?? Repo.ModelBundles, ["PublicKeyPath"] = Repo.DevPublicKey, ["Providers"] = new[] { "Cpu" } },
                ["Decision"] = new Dictionary<string, object?> { ["Threshold"] = siteThreshold },
                ["Hardware"] = new Dictionary<string, object?> { ["Profile"] = "simulated", ["LightsLog"] = temp.Combine("out", "lights.log"), ["SlipDirectory"] = temp.Combine("out", "slips") },
                ["Intake"] = new Dictionary<string, object?> { ["WatchPath"] = temp.Combine("inbox"), ["SettleTime"] = "00:00:00", ["PollInterval"] = "00:00:00.100" },
                ["Output"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("out") },
                ["Mqtt"] = new Dictionary<string, object?> { ["Embedded"] = embeddedBroker },
                ["Dicom"] = new Dictionary<string, object?>
                {
                    ["Port"] = Ports.Free(),
                    ["FreeDiskFloorMb"] = 1,
                    ["Destinations"] = destination is { } d ? new[] { new Dictionary<string, object?> { ["AeTitle"] = d.AeTitle, ["Host"] = "127.0.0.1", ["Port"] = d.Port } } : [],
                },
            },
        };
        var path = temp.Combine("appsettings.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }
}
