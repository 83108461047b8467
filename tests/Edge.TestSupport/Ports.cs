using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Edge.TestSupport;

/// <summary>Loopback ports and listening state, for peers that must be told their port and do not say when they are ready.</summary>
public static class Ports
{
    /// <summary>A loopback port the OS just handed out.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Waits until something listens on the port, reading the kernel's socket table: DCMTK's storescp prints nothing
    /// when it starts listening, and probing with a connection would be an association attempt it logs as failed.
    /// </summary>
    public static async Task WaitUntilListeningAsync(int port, ChildProcess owner)
    {
        var hex = ":" + port.ToString("X4", CultureInfo.InvariantCulture) + " ";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6")).Any(l => l.Contains(hex, StringComparison.Ordinal) && l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] == "0A"))
        {
            if (owner.Stdout.Contains("F: ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("Peer failed to start: " + owner.Stdout + owner.Stderr);
            }

            await Task.Delay(20, timeout.Token);
        }
    }
}
