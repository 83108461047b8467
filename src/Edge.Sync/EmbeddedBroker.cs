using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace Edge.Sync;

/// <summary>
/// An MQTT broker in the process, on loopback and plain TCP: for the demo and tests only, never for the province's link.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;

    private EmbeddedBroker(MqttServer server, int port)
    {
        _server = server;
        Port = port;
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Starts on 127.0.0.1:<paramref name="port"/>; 0 lets the OS choose a free port.</summary>
    public static async Task<EmbeddedBroker> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // MQTTnet does not report the port it bound, so ask the OS for a free one first (a tiny race, acceptable for a demo).
        var chosen = port == 0 ? FreeLoopbackPort() : port;
        var factory = new MqttServerFactory();
        var options = factory.CreateServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(chosen)
            .Build();
        var server = factory.CreateMqttServer(options);
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException)
        {
            server.Dispose();
            throw new SyncException($"The embedded broker cannot listen on 127.0.0.1:{chosen}: {ex.Message}", ex);
        }

        return new EmbeddedBroker(server, chosen);
    }

    public async Task StopAsync()
    {
        if (_server.IsStarted)
        {
            await _server.StopAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
