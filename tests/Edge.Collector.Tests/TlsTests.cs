using Edge.TestSupport;

namespace Edge.Collector.Tests;

/// <summary>The collector's mutual TLS to Mosquitto, with a CA, server and client certificates made by openssl in the test.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-collector-tls");
    private readonly TestLoggers _loggers = new();

    [Fact]
    public async Task Run_MutualTls_TakesResultsOverTls()
    {
        await MakeCertificatesAsync();
        var tlsPort = Ports.Free();
        await using var broker = new MosquittoBroker($"listener {tlsPort} 127.0.0.1\ncafile {P("ca.pem")}\ncertfile {P("server.pem")}\nkeyfile {P("server.key")}\nrequire_certificate true\ntls_version tlsv1.2\n");
        await broker.StartAsync();
        var options = new CollectorOptions
        {
            Mqtt = { Host = "127.0.0.1", Port = tlsPort, UseTls = true, CaPath = P("ca.pem"), ClientCertPath = P("client.pem"), ClientKeyPath = P("client.key"), TargetHost = "localhost", ClientId = "c-tls" },
            Sqlite = { Path = P("c.db") },
            Web = { Urls = "" },
        };
        await using var host = await CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None);
        await host.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Ingest.Committed += _ => committed.TrySetResult();

        // The device publishes on the plain loopback listener; the collector reads over TLS only.
        await using var device = new TestDevice("s", "d");
        await device.ConnectAsync(broker.Port);
        await device.PublishResultAsync("t-1", DateTimeOffset.UtcNow);
        await committed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(new StoreTotals(1, 0), await host.Store.TotalsAsync(CancellationToken.None));
        _loggers.AssertNoErrors();
    }

    public void Dispose() => _temp.Dispose();

    private string P(string name) => _temp.Combine(name);

    private async Task MakeCertificatesAsync()
    {
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Test CA", "-keyout", P("ca.key"), "-out", P("ca.pem"));
        foreach (var (name, subject, ext) in new[] { ("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"), ("client", "/CN=edge-collector", "extendedKeyUsage=clientAuth") })
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
