using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>The published binary's <c>run</c> as systemd starts it (Type=notify, WatchdogSec): what the manager hears.</summary>
public sealed class ServiceNotifyTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _temp = new("edge-service");

    [Fact]
    public async Task Run_UnderNotifySocket_ReadyKeepAlivesThenStoppingOnSigterm()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var socketPath = _temp.Combine("notify");
        using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        manager.Bind(new UnixDomainSocketEndPoint(socketPath));
        var environment = new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = socketPath,

            // 200 ms: a keep-alive every 100 ms, so the test hears several without waiting long.
            ["WATCHDOG_USEC"] = "200000",
        };

        await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path, environment);

        var heard = new List<string>();
        async Task<string> NextAsync()
        {
            var message = await ReceiveAsync(manager, run);
            heard.Add(message);
            return message;
        }

        while (await NextAsync() != "READY=1")
        {
        }

        // Keep-alives may come before READY (they run through start-up), nothing else.
        Assert.All(heard[..^1], m => Assert.Equal("WATCHDOG=1", m));
        Assert.Equal("WATCHDOG=1", await NextAsync());

        var kill = await ChildProcess.RunAsync("kill", ["-TERM", run.Id.ToString(CultureInfo.InvariantCulture)], Timeout);
        Assert.Equal(0, kill.ExitCode);
        while (await NextAsync() != "STOPPING=1")
        {
        }

        Assert.Equal(0, await run.WaitAsync(Timeout));
    }

    public void Dispose() => _temp.Dispose();

    private static async Task<string> ReceiveAsync(Socket socket, ChildProcess run)
    {
        var buffer = new byte[256];
        using var cancel = new CancellationTokenSource(Timeout);
        try
        {
            var count = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return Encoding.UTF8.GetString(buffer, 0, count);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No notification within {Timeout}. stderr: {run.Stderr}");
        }
    }
}
