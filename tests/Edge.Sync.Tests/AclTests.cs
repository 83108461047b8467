using System.Text.Json;
using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;

namespace Edge.Sync.Tests;

/// <summary>
/// The broker's per-device ACL, as docs/sync-protocol.md gives it: each device certificate's common name is
/// <c>{site}/{device}</c>, its own topic levels; a device writes only its own topics and reads only its own commands;
/// only the programme's certificate may send commands.
/// </summary>
public sealed class AclTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-acl");
    private readonly TestPki _pki;
    private int _tlsPort;

    public AclTests()
    {
        _pki = new TestPki(_temp);
    }

    /// <summary>The ACL shipped in docs/sync-protocol.md, read from there so the documentation is what is tested.</summary>
    public static string DocumentedAcl()
    {
        var doc = File.ReadAllText(Path.Combine(Repo.Root, "docs", "sync-protocol.md"));
        const string start = "```acl\n";
        var from = doc.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return doc[from..doc.IndexOf("```", from, StringComparison.Ordinal)];
    }

    [Fact]
    public async Task Acl_DeviceCertificate_CannotWriteAnotherDevicesTopicsNorReadItsCommands()
    {
        await using var broker = await StartBrokerAsync();
        await using var device1 = new Subscriber();
        await device1.ConnectAsync(await ClientOptionsAsync("dev1", "site-a/dev-1"), null);
        await using var programme = new Subscriber();
        Assert.Equal(MQTTnet.MqttClientSubscribeResultCode.GrantedQoS1, await programme.ConnectAsync(await ClientOptionsAsync("programme", "tb-programme"), "tb/v1/#"));

        // Writing another device's topics, or a command to itself, is refused at the PUBACK.
        foreach (var topic in new[] { "tb/v1/site-a/dev-2/result", "tb/v1/site-a/dev-2/status", "tb/v1/site-b/dev-1/result", "tb/v1/site-a/dev-1/cmd/threshold", "tb/v1/site-a/dev-2/cmd/threshold/reply" })
        {
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await device1.PublishAsync(topic, """{"id":"forged"}"""));
        }

        // Its own topics are open to it.
        Assert.Equal(MqttClientPublishReasonCode.Success, await device1.PublishAsync("tb/v1/site-a/dev-1/result", """{"id":"own"}"""));
        await programme.WaitForAsync(r => r.Any(m => m.Id == "own"));
        Assert.DoesNotContain(programme.Received, m => m.Payload.Contains("forged", StringComparison.Ordinal));

        // Another device's commands cannot be read. Mosquitto 2.0 grants the subscription and checks read access on each
        // delivery, so what counts is that a command sent there never arrives (the device's own, sent after it, does).
        Assert.Contains(await device1.SubscribeAsync("tb/v1/site-a/dev-2/cmd/+"), new[] { MQTTnet.MqttClientSubscribeResultCode.NotAuthorized, MQTTnet.MqttClientSubscribeResultCode.GrantedQoS1 });
        Assert.Equal(MQTTnet.MqttClientSubscribeResultCode.GrantedQoS1, await device1.SubscribeAsync("tb/v1/site-a/+/cmd/+"));
        Assert.Equal(MQTTnet.MqttClientSubscribeResultCode.GrantedQoS1, await device1.SubscribeAsync("tb/v1/site-a/dev-1/cmd/+"));
        Assert.Equal(MqttClientPublishReasonCode.Success, await programme.PublishAsync("tb/v1/site-a/dev-2/cmd/resend", """{"id":"for-dev-2"}"""));
        Assert.Equal(MqttClientPublishReasonCode.Success, await programme.PublishAsync("tb/v1/site-a/dev-1/cmd/resend", """{"id":"for-dev-1"}"""));
        await device1.WaitForAsync(r => r.Any(m => m.Id == "for-dev-1"));
        Assert.DoesNotContain(device1.Received, m => m.Id == "for-dev-2");
    }

    [Fact]
    public async Task Run_ThresholdCommandOverMutualTlsWithAcl_AppliedAuditedAndAnswered()
    {
        await using var broker = await StartBrokerAsync();
        await using var programme = new Subscriber();
        await programme.ConnectAsync(await ClientOptionsAsync("programme", "tb-programme"), "tb/v1/site-a/dev-1/#");
        var (cert, key) = await _pki.ClientAsync("dev1", "site-a/dev-1");
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var model = new ModelIdentity("tb-cxr", "1.0.0", new string('a', 64));
        var threshold = new ThresholdInForce(model, 0.5, null, null);
        var logger = new TestLogger();
        var summaries = new SyncSummaries(store, "tb/v1", "site-a", "dev-1", TimeZoneInfo.Utc, model);
        var commands = new SyncCommands(store, threshold, summaries, "tb/v1", "site-a", "dev-1", logger, TimeProvider.System);
        var options = new OutboxPublisherOptions
        {
            Host = "127.0.0.1",
            Port = broker.TlsPort,
            Site = "site-a",
            Device = "dev-1",
            Tls = new SyncTlsOptions { CaPath = _pki.CaPath, ClientCertPath = cert, ClientKeyPath = key, TargetHost = "localhost" },
        };
        await using var publisher = new OutboxPublisher(store, options, new DeviceStatusInfo("1", null, null, null), logger, TimeProvider.System, commands);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => publisher.RunAsync(stop.Token));
        await programme.WaitForAsync(r => r.Any(m => m.Topic == "tb/v1/site-a/dev-1/status"));

        await programme.PublishAsync("tb/v1/site-a/dev-1/cmd/threshold", """{"id":"cal-2026-12","issuedBy":"tb-programme/calibration","threshold":42.5,"reason":"site calibration December"}""");
        await programme.WaitForAsync(r => r.Any(m => m.Topic == "tb/v1/site-a/dev-1/cmd/threshold/reply"));

        var reply = JsonDocument.Parse(programme.Received.First(m => m.Topic.EndsWith("/reply", StringComparison.Ordinal)).Payload).RootElement;
        Assert.True(reply.GetProperty("accepted").GetBoolean(), reply.ToString());
        Assert.Equal(42.5, reply.GetProperty("threshold").GetDouble());
        Assert.Equal(Referral.Refer, threshold.Decide(0.425).Referral);
        Assert.Equal(Referral.NoRefer, threshold.Decide(0.42).Referral);
        var audit = store.Audit("cal-2026-12").Single();
        Assert.Equal("command-threshold", audit.Action);
        Assert.StartsWith("by tb-programme/calibration: set the threshold to 42.5; applied", audit.Detail, StringComparison.Ordinal);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        logger.AssertNoErrors();
    }

    public void Dispose() => _temp.Dispose();

    private async Task<TlsBroker> StartBrokerAsync()
    {
        await _pki.CreateAsync();
        var tlsPort = _tlsPort = Ports.Free();
        var acl = _temp.Combine("acl");
        await File.WriteAllTextAsync(acl, DocumentedAcl());
        var broker = new Mosquitto(_pki.Listener(tlsPort) + $"acl_file {acl}\n");
        await broker.StartAsync();
        return new TlsBroker(broker, tlsPort);
    }

    private async Task<MqttClientOptions> ClientOptionsAsync(string name, string commonName)
    {
        var (cert, key) = await _pki.ClientAsync(name, commonName);
        var tls = new SyncTlsOptions { CaPath = _pki.CaPath, ClientCertPath = cert, ClientKeyPath = key };
        var trust = tls.LoadTrustChain()!;
        var certificates = tls.LoadClientCertificates();
        return new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _tlsPort)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("test-" + name + "-" + Guid.NewGuid().ToString("N"))
            .WithTlsOptions(o => o.UseTls().WithTargetHost("localhost").WithTrustChain(trust).WithClientCertificates(certificates))
            .Build();
    }

    private sealed class TlsBroker(Mosquitto broker, int tlsPort) : IAsyncDisposable
    {
        public int TlsPort => tlsPort;

        public ValueTask DisposeAsync() => broker.DisposeAsync();
    }
}
