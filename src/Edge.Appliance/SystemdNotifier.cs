using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Edge.Appliance;

/// <summary>
/// The service manager's side of <c>Type=notify</c> without libsystemd: one datagram per state change to the Unix
/// socket named by <c>$NOTIFY_SOCKET</c> (a path, or an abstract name written with a leading '@'), and the watchdog
/// keep-alive at half the interval given by <c>$WATCHDOG_USEC</c>, sent only while the caller says it is healthy so
/// that a wedged appliance is restarted instead of being kept alive by a timer.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;

    public SystemdNotifier(string notifySocket, TimeSpan? watchdogInterval)
    {
        ArgumentException.ThrowIfNullOrEmpty(notifySocket);

        // '@' stands for the abstract namespace: the kernel address starts with a NUL byte, which .NET takes as-is.
        _endPoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        WatchdogInterval = watchdogInterval;
    }

    /// <summary>How often systemd expects a keep-alive at the latest; null when the unit has no watchdog.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>
    /// The notifier for this process, or null when not started by systemd with <c>Type=notify</c>. The watchdog
    /// interval is taken only when <c>$WATCHDOG_PID</c> is absent or names this process (as sd_watchdog_enabled does).
    /// </summary>
    public static SystemdNotifier? FromEnvironment(Func<string, string?>? getVariable = null, int? processId = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var socket = getVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(socket) || (socket[0] != '/' && socket[0] != '@'))
        {
            return null;
        }

        return new SystemdNotifier(socket, ParseWatchdog(getVariable("WATCHDOG_USEC"), getVariable("WATCHDOG_PID"), processId ?? Environment.ProcessId));
    }

    public static TimeSpan? ParseWatchdog(string? usec, string? pid, int processId)
    {
        if (!string.IsNullOrEmpty(pid) && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var owner) || owner != processId))
        {
            return null;
        }

        return ulong.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var micro) && micro > 0
            ? TimeSpan.FromMicroseconds(micro)
            : null;
    }

    /// <summary>Startup finished: systemd marks the unit active.</summary>
    public bool Ready() => Send("READY=1");

    /// <summary>Shutdown has begun: systemd stops expecting keep-alives.</summary>
    public bool Stopping() => Send("STOPPING=1");

    /// <summary>
    /// Sends <c>WATCHDOG=1</c> every half interval for as long as <paramref name="isHealthy"/> holds; while it does
    /// not, stays silent so that systemd's watchdog fires. Returns at once when the unit has no watchdog.
    /// </summary>
    public async Task RunWatchdogAsync(Func<bool> isHealthy, CancellationToken cancellationToken)
    {
        if (WatchdogInterval is not { } interval)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval / 2);
        try
        {
            do
            {
                if (isHealthy())
                {
                    Send("WATCHDOG=1");
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One datagram; false when the manager's socket is gone (a notification is never worth failing for).</summary>
    public bool Send(string state)
    {
        try
        {
            return _socket.SendTo(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endPoint) > 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
