using System.Net;
using System.Net.Sockets;

namespace Edge.TestSupport;

/// <summary>
/// A real Mosquitto on 127.0.0.1 and an OS-chosen port, for any test project: plain listener, anonymous, queues large
/// enough that a persistent session never drops a test's messages, killable and restartable on the same port.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("edge-mosquitto");
    private ChildProcess? _process;

    /// <param name="extraConfiguration">More configuration after the plain listener (e.g. a TLS listener), written as is.</param>
    public MosquittoBroker(string extraConfiguration = "")
    {
        Port = Ports.Free();

        // Mosquitto keeps at most 1000 messages for an offline persistent session by default and drops the rest; the
        // collector tests stop a collector mid-stream, so the queue must hold everything published meanwhile.
        File.WriteAllText(ConfigPath, $"user {Environment.UserName}\nlistener {Port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n{extraConfiguration}");
    }

    public int Port { get; }

    public string ConfigPath => _temp.Combine("mosquitto.conf");

    public static string Program => File.Exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";

    public async Task StartAsync()
    {
        _process = ChildProcess.Start(Program, ["-c", ConfigPath]);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, Port, deadline.Token).ConfigureAwait(false);
                    return;
                }
                catch (SocketException)
                {
                    // Not listening yet: mosquitto binds within milliseconds of starting.
                    await Task.Delay(20, deadline.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"mosquitto did not listen on {Port}: {_process.Stderr}");
        }
    }

    /// <summary>SIGKILL, as in a crash: no goodbye to the clients.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync().ConfigureAwait(false);
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _temp.Dispose();
    }
}
