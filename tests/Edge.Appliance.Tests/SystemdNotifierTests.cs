using System.Net.Sockets;
using System.Text;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>sd_notify against a real Unix datagram socket standing in for systemd's notify socket.</summary>
public sealed class SystemdNotifierTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new("edge-notify");

    [Fact]
    public async Task Ready_PathSocket_ManagerReceivesReadyDatagram()
    {
        var path = _temp.Combine("notify");
        using var manager = Bind(path);
        using var notifier = SystemdNotifier.FromEnvironment(Variables(("NOTIFY_SOCKET", path)));

        Assert.NotNull(notifier);
        Assert.True(notifier.Ready());
        Assert.Equal("READY=1", await ReceiveAsync(manager));
        Assert.True(notifier.Stopping());
        Assert.Equal("STOPPING=1", await ReceiveAsync(manager));
    }

    [Fact]
    public async Task Ready_AbstractSocket_AtSignMeansAbstractNamespace()
    {
        var name = "edge-test-" + Guid.NewGuid().ToString("N");
        using var manager = Bind("\0" + name);
        using var notifier = SystemdNotifier.FromEnvironment(Variables(("NOTIFY_SOCKET", "@" + name)));

        Assert.NotNull(notifier);
        Assert.True(notifier.Ready());
        Assert.Equal("READY=1", await ReceiveAsync(manager));
    }

    [Fact]
    public void FromEnvironment_NoNotifySocket_ReturnsNull()
    {
        Assert.Null(SystemdNotifier.FromEnvironment(Variables()));
        Assert.Null(SystemdNotifier.FromEnvironment(Variables(("NOTIFY_SOCKET", "relative/path"))));
    }

    [Theory]
    [InlineData("2000000", null, 2000.0)]
    [InlineData("2000000", "4242", 2000.0)]
    [InlineData("2000000", "1", null)]
    [InlineData("0", null, null)]
    [InlineData("soon", null, null)]
    [InlineData(null, null, null)]
    public void ParseWatchdog_UsecAndPid_IntervalOnlyForThisProcess(string? usec, string? pid, double? expectedMs)
    {
        var interval = SystemdNotifier.ParseWatchdog(usec, pid, processId: 4242);

        Assert.Equal(expectedMs, interval?.TotalMilliseconds);
    }

    [Fact]
    public async Task RunWatchdog_HealthyThenNot_KeepAlivesStopWhenUnhealthy()
    {
        var path = _temp.Combine("notify");
        using var manager = Bind(path);
        using var notifier = SystemdNotifier.FromEnvironment(Variables(("NOTIFY_SOCKET", path), ("WATCHDOG_USEC", "20000")));
        Assert.NotNull(notifier);
        Assert.Equal(TimeSpan.FromMilliseconds(20), notifier.WatchdogInterval);

        var healthy = true;
        using var unhealthyChecks = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();
        var watchdog = notifier.RunWatchdogAsync(
            () =>
            {
                if (Volatile.Read(ref healthy))
                {
                    return true;
                }

                unhealthyChecks.Release();
                return false;
            },
            stop.Token);

        Assert.Equal("WATCHDOG=1", await ReceiveAsync(manager));
        Volatile.Write(ref healthy, false);

        // A tick sends right after its check, so once a later check has run the earlier tick is finished: after two
        // unhealthy checks every keep-alive from the healthy time is in the socket. Empty it; two more unhealthy
        // checks later (the first one's tick complete) nothing may have arrived.
        await unhealthyChecks.WaitAsync(Timeout);
        await unhealthyChecks.WaitAsync(Timeout);
        Drain(manager);
        await unhealthyChecks.WaitAsync(Timeout);
        await unhealthyChecks.WaitAsync(Timeout);

        Assert.Equal(0, manager.Available);
        await stop.CancelAsync();
        await watchdog.WaitAsync(Timeout);
    }

    [Fact]
    public async Task RunWatchdog_NoWatchdogConfigured_ReturnsAtOnce()
    {
        using var notifier = new SystemdNotifier(_temp.Combine("absent"), watchdogInterval: null);

        await notifier.RunWatchdogAsync(() => true, CancellationToken.None).WaitAsync(Timeout);
        Assert.False(notifier.Ready());
    }

    public void Dispose() => _temp.Dispose();

    private static Func<string, string?> Variables(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    private static Socket Bind(string address)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(address));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[256];
        using var cancel = new CancellationTokenSource(Timeout);
        var count = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
        return Encoding.UTF8.GetString(buffer, 0, count);
    }

    private static void Drain(Socket socket)
    {
        var buffer = new byte[256];
        while (socket.Available > 0)
        {
            socket.Receive(buffer);
        }
    }
}
