using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Faults;

/// <summary>
/// The Native AOT appliance as the device runs it: the binary <c>./edge</c> published (EDGE_APPLIANCE_BIN), or published
/// here once when tests run on their own; a configuration wired to a broker; readiness by C-ECHO.
/// </summary>
public static class ApplianceProcess
{
    private static readonly Lazy<string> Binary = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => Binary.Value;

    /// <summary>
    /// A configuration for <c>run</c> that syncs to a broker on loopback: committed bundle, dev key, CPU, simulated
    /// hardware, a watched folder that takes files at once, a DICOM listener on <paramref name="dicomPort"/>.
    /// </summary>
    public static string WriteConfig(TempDirectory temp, string site, string device, int brokerPort, int dicomPort)
    {
        ArgumentNullException.ThrowIfNull(temp);
        var key = temp.Combine("pseudonym.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        Directory.CreateDirectory(temp.Combine("inbox"));
        var config = new Dictionary<string, object?>
        {
            ["Edge"] = new Dictionary<string, object?>
            {
                ["Site"] = new Dictionary<string, object?> { ["Id"] = site, ["TimeZone"] = "UTC" },
                ["Device"] = new Dictionary<string, object?> { ["Id"] = device },
                ["Storage"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("data") },
                ["Model"] = new Dictionary<string, object?> { ["Path"] = Repo.ModelBundles, ["PublicKeyPath"] = Repo.DevPublicKey, ["Providers"] = new[] { "Cpu" } },
                ["Hardware"] = new Dictionary<string, object?> { ["Profile"] = "simulated", ["LightsLog"] = temp.Combine("out", "lights.log"), ["SlipDirectory"] = temp.Combine("out", "slips") },
                ["Intake"] = new Dictionary<string, object?> { ["WatchPath"] = temp.Combine("inbox"), ["SettleTime"] = "00:00:00", ["PollInterval"] = "00:00:00.100" },
                ["Output"] = new Dictionary<string, object?> { ["Path"] = temp.Combine("out") },
                ["Dicom"] = new Dictionary<string, object?> { ["Port"] = dicomPort, ["AeTitle"] = "EDGE", ["FreeDiskFloorMb"] = 1 },
                ["Mqtt"] = new Dictionary<string, object?> { ["Host"] = "127.0.0.1", ["Port"] = brokerPort, ["UseTls"] = false },
                ["Sync"] = new Dictionary<string, object?> { ["PseudonymKeyPath"] = key },
            },
        };
        var path = temp.Combine("appsettings.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    /// <summary>
    /// Seconds from <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) to the first answered C-ECHO: a TCP
    /// connect is tried every few ms (the listener says nothing when it opens), then echoscu confirms.
    /// </summary>
    public static async Task<double> WaitUntilEchoAsync(int port, ChildProcess appliance, long started, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(appliance);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (limit ?? TimeSpan.FromMinutes(2)))
        {
            if (appliance.HasExited)
            {
                throw new InvalidOperationException("edge-appliance stopped: " + appliance.Stderr);
            }

            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                await Task.Delay(2).ConfigureAwait(false);
                continue;
            }

            probe.Close();
            var echo = await ChildProcess.RunAsync("echoscu", ["-aec", "EDGE", "-aet", "PROBE", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (echo.ExitCode == 0)
            {
                return Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }

        throw new TimeoutException($"edge-appliance did not answer C-ECHO within {limit ?? TimeSpan.FromMinutes(2)}: " + appliance.Stderr);
    }

    /// <summary>SIGTERM, as systemd stops the service, then waits for the exit code.</summary>
    public static async Task<int> StopAsync(ChildProcess appliance, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(appliance);
        await ChildProcess.RunAsync("kill", ["-TERM", appliance.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return await appliance.WaitAsync(timeout).ConfigureAwait(false);
    }

    private static string Locate()
    {
        var fromScript = Environment.GetEnvironmentVariable("EDGE_APPLIANCE_BIN");
        if (!string.IsNullOrEmpty(fromScript))
        {
            return File.Exists(fromScript) ? fromScript : throw new InvalidOperationException($"EDGE_APPLIANCE_BIN={fromScript} does not exist.");
        }

        var output = System.IO.Path.Combine(Repo.Root, "out", "bin", "linux-x64");
        var result = ChildProcess.RunAsync(
            "dotnet",
            ["publish", System.IO.Path.Combine(Repo.Root, "src", "Edge.Appliance", "Edge.Appliance.csproj"), "-c", "Release", "-r", "linux-x64", "-o", output, "-nologo"],
            TimeSpan.FromMinutes(8)).GetAwaiter().GetResult();
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("Publishing edge-appliance failed:\n" + result.Stdout + result.Stderr);
        }

        return System.IO.Path.Combine(output, "edge-appliance");
    }
}
