using System.Net;
using System.Net.Sockets;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>A real Mosquitto on 127.0.0.1 and an OS-chosen port, killable and restartable on the same port.</summary>
public sealed class Mosquitto : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("edge-mosquitto");
    private ChildProcess? _process;

    /// <param name="extraListeners">More configuration after the plain listener (e.g. a TLS listener), written as is.</param>
    public Mosquitto(string extraListeners = "")
    {
        Port = Ports.Free();
        File.WriteAllText(_temp.Combine("mosquitto.conf"), $"user {Environment.UserName}\nlistener {Port} 127.0.0.1\nallow_anonymous true\n{extraListeners}");
    }

    public int Port { get; }

    public static string Program => File.Exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";

    public async Task StartAsync()
    {
        _process = ChildProcess.Start(Program, ["-c", _temp.Combine("mosquitto.conf")]);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, Port, deadline.Token);
                    return;
                }
                catch (SocketException)
                {
                    // Not listening yet: mosquitto binds within milliseconds of starting.
                    await Task.Delay(20, deadline.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"mosquitto did not listen on {Port}: {_process.Stderr}");
        }
    }

    /// <summary>SIGTERM, as a service manager stops it: mosquitto saves its persistent sessions and exits.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            var kill = await ChildProcess.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            Assert.Equal(0, kill.ExitCode);
            await process.WaitAsync(TimeSpan.FromSeconds(30));
            await process.DisposeAsync();
            _process = null;
        }
    }

    /// <summary>A folder beside the configuration, for certificates, ACLs and persistence.</summary>
    public string PathOf(string name) => _temp.Combine(name);

    /// <summary>SIGKILL, as in a crash: no goodbye to the clients.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _temp.Dispose();
    }

}
