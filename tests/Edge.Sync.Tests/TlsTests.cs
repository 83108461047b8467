using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>Mutual TLS against Mosquitto with a CA, server and client certificates made by openssl in the test.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("edge-sync-tls");
    private readonly ScreeningStore _store;
    private readonly TestLogger _logger = new();
    private readonly CancellationTokenSource _stop = new();

    public TlsTests()
    {
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
    }

    [Fact]
    public async Task Run_MutualTls_DeliversOverTls12OrLater()
    {
        await MakeCertificatesAsync();
        var tlsPort = Ports.Free();
        await using var broker = new Mosquitto(TlsListener(tlsPort));
        await broker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);
        _store.EnqueueOutbox(new OutboxMessage("t-1", "tb/v1/s/d/result", """{"id":"t-1"}"""), DateTimeOffset.UtcNow);

        var publisher = new OutboxPublisher(_store, Options(tlsPort, new SyncTlsOptions { CaPath = _temp.Combine("ca.pem"), ClientCertPath = _temp.Combine("client.pem"), ClientKeyPath = _temp.Combine("client.key"), TargetHost = "localhost" }), new DeviceStatusInfo("1", null, null, null), _logger);
        var run = Task.Run(() => publisher.RunAsync(_stop.Token));
        await subscriber.WaitForAsync(r => r.Any(m => m.Topic == "tb/v1/s/d/result"));

        await _stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, _store.CountOutboxPending());
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_NoClientCertificate_BrokerRefusesAndRowStaysPending()
    {
        await MakeCertificatesAsync();
        var tlsPort = Ports.Free();
        await using var broker = new Mosquitto(TlsListener(tlsPort));
        await broker.StartAsync();
        _store.EnqueueOutbox(new OutboxMessage("t-1", "tb/v1/s/d/result", """{"id":"t-1"}"""), DateTimeOffset.UtcNow);
        var refused = _logger.WaitForAsync(m => m.Contains("not reachable", StringComparison.Ordinal));

        var publisher = new OutboxPublisher(_store, Options(tlsPort, new SyncTlsOptions { CaPath = _temp.Combine("ca.pem"), TargetHost = "localhost" }), new DeviceStatusInfo("1", null, null, null), _logger);
        var run = Task.Run(() => publisher.RunAsync(_stop.Token));
        await refused;

        await _stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(SyncState.Offline, publisher.State);
        Assert.Equal(1, _store.CountOutboxPending());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
        _store.Dispose();
        _temp.Dispose();
    }

    private static OutboxPublisherOptions Options(int port, SyncTlsOptions tls) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        Site = "s",
        Device = "d",
        Tls = tls,
        MinReconnectDelay = TimeSpan.FromSeconds(4),
        MaxReconnectDelay = TimeSpan.FromSeconds(8),
    };

    private string TlsListener(int port) =>
        $"listener {port} 127.0.0.1\ncafile {_temp.Combine("ca.pem")}\ncertfile {_temp.Combine("server.pem")}\nkeyfile {_temp.Combine("server.key")}\nrequire_certificate true\ntls_version tlsv1.2\n";

    private async Task MakeCertificatesAsync()
    {
        string P(string name) => _temp.Combine(name);
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Test CA", "-keyout", P("ca.key"), "-out", P("ca.pem"));
        foreach (var (name, subject, ext) in new[] { ("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"), ("client", "/CN=edge-s-d", "extendedKeyUsage=clientAuth") })
        {
            await File.WriteAllTextAsync(P(name + ".ext"), ext + "\n");
            await OpenSslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject, "-keyout", P(name + ".key"), "-out", P(name + ".csr"));
            await OpenSslAsync("x509", "-req", "-in", P(name + ".csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", P(name + ".ext"), "-out", P(name + ".pem"));
        }
    }

    private static async Task OpenSslAsync(params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("openssl", arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"openssl {string.Join(' ', arguments)}: {result.Stderr}");
    }
}
