using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace Edge.Sync;

/// <summary>
/// The link to an MQTT broker as configured (bound from <c>appsettings.json</c>), shared by the appliance's outbox and
/// the provincial collector so both read the same keys the same way.
/// </summary>
public abstract class MqttLinkOptions
{
    public string Host { get; set; } = "";

    public int Port { get; set; } = 8883;

    /// <summary>Topics are <c>{TopicRoot}/{site}/{device}/{kind}</c>.</summary>
    public string TopicRoot { get; set; } = "tb/v1";

    /// <summary>TLS 1.2+ to the broker; the province's broker requires it (mutual TLS with the client certificate below).</summary>
    public bool UseTls { get; set; } = true;

    /// <summary>PEM file of the CA(s) the broker's certificate must chain to; absent: the system's trust store.</summary>
    public string? CaPath { get; set; }

    /// <summary>This client's certificate (PEM) and its key (PEM); or <see cref="ClientPfxPath"/> instead.</summary>
    public string? ClientCertPath { get; set; }

    public string? ClientKeyPath { get; set; }

    /// <summary>Client certificate and key as one PKCS#12 file, with <see cref="ClientPfxPassword"/> if it has one.</summary>
    public string? ClientPfxPath { get; set; }

    public string? ClientPfxPassword { get; set; }

    /// <summary>The name the broker's certificate must carry; absent: <see cref="Host"/>.</summary>
    public string? TargetHost { get; set; }

    /// <summary>The TLS set-up these settings ask for; null when <see cref="UseTls"/> is off (loopback tests, the demo).</summary>
    public SyncTlsOptions? Tls => UseTls
        ? new SyncTlsOptions { CaPath = CaPath, ClientCertPath = ClientCertPath, ClientKeyPath = ClientKeyPath, ClientPfxPath = ClientPfxPath, ClientPfxPassword = ClientPfxPassword, TargetHost = TargetHost }
        : null;
}

/// <summary>Mutual TLS to the broker: the CA the broker's certificate must chain to, and this device's client certificate.</summary>
public sealed class SyncTlsOptions
{
    /// <summary>PEM file of the CA(s) that sign the broker's certificate; absent: the system trust store.</summary>
    public string? CaPath { get; init; }

    /// <summary>PEM client certificate and key; or <see cref="ClientPfxPath"/>.</summary>
    public string? ClientCertPath { get; init; }

    public string? ClientKeyPath { get; init; }

    public string? ClientPfxPath { get; init; }

    public string? ClientPfxPassword { get; init; }

    /// <summary>The name the broker's certificate must carry; absent: the host connected to.</summary>
    public string? TargetHost { get; init; }

    public static SslProtocols Protocols => SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>TLS 1.2+ to <paramref name="host"/> with this trust chain and client certificate, for any MQTT client of ours.</summary>
    /// <exception cref="SyncException">The CA file or the client certificate cannot be read.</exception>
    public MqttClientOptionsBuilder ApplyTo(MqttClientOptionsBuilder builder, string host)
    {
        var trust = LoadTrustChain();
        var clientCertificates = LoadClientCertificates();
        return builder.WithTlsOptions(o =>
        {
            o.UseTls().WithSslProtocols(Protocols).WithTargetHost(TargetHost ?? host);
            if (trust is not null)
            {
                o.WithTrustChain(trust);
            }

            if (clientCertificates.Count > 0)
            {
                o.WithClientCertificates(clientCertificates);
            }
        });
    }

    /// <summary>The CA certificates, or null to use the system trust store.</summary>
    public X509Certificate2Collection? LoadTrustChain()
    {
        if (string.IsNullOrWhiteSpace(CaPath))
        {
            return null;
        }

        try
        {
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(CaPath);
            return chain.Count > 0 ? chain : throw new SyncException($"No certificate in the CA file {CaPath}.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new SyncException($"Cannot read the CA file {CaPath}: {ex.Message}", ex);
        }
    }

    /// <summary>The client certificate with its private key, or an empty collection when none is configured.</summary>
    public X509Certificate2Collection LoadClientCertificates()
    {
        try
        {
            if (!string.IsNullOrWhiteSpace(ClientPfxPath))
            {
                return [X509CertificateLoader.LoadPkcs12FromFile(ClientPfxPath, ClientPfxPassword)];
            }

            if (!string.IsNullOrWhiteSpace(ClientCertPath) && !string.IsNullOrWhiteSpace(ClientKeyPath))
            {
                using var pem = X509Certificate2.CreateFromPemFile(ClientCertPath, ClientKeyPath);

                // Through PKCS#12 so the key is usable by SslStream on every platform, not only as an ephemeral key.
                return [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
            }

            return [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new SyncException($"Cannot load the client certificate: {ex.Message}", ex);
        }
    }
}

/// <summary>Where and how the outbox is published. Durations are <see cref="TimeSpan"/>s; validated by <see cref="Validate"/>.</summary>
public sealed class OutboxPublisherOptions
{
    public required string Host { get; init; }

    public int Port { get; init; } = 8883;

    public required string Site { get; init; }

    public required string Device { get; init; }

    public string TopicRoot { get; init; } = "tb/v1";

    /// <summary>Null: plain TCP (loopback tests and the demo's embedded broker only).</summary>
    public SyncTlsOptions? Tls { get; init; }

    /// <summary>MQTT client id; absent: <c>edge-{site}-{device}</c>, so the broker's per-device ACL can key on it.</summary>
    public string? ClientId { get; init; }

    public int MaxMessagesPerSecond { get; init; } = 50;

    /// <summary>Rows read from the record per round.</summary>
    public int BatchSize { get; init; } = 100;

    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an idle publisher looks at the outbox when nobody calls <see cref="OutboxPublisher.Wake"/>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for a CONNACK or a PUBACK before the connection is taken as lost.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    public string StatusTopic => $"{TopicRoot}/{Site}/{Device}/status";

    /// <summary>Commands for this device arrive on <c>{root}/{site}/{device}/cmd/{name}</c>, one level: nothing below.</summary>
    public string CommandTopicPrefix => $"{TopicRoot}/{Site}/{Device}/cmd/";

    public string CommandTopicFilter => CommandTopicPrefix + "+";

    public string EffectiveClientId => ClientId ?? $"edge-{Site}-{Device}";

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            problems.Add("Host is not set.");
        }

        if (Port is < 1 or > 65535)
        {
            problems.Add($"Port {Port} is not a TCP port (1-65535).");
        }

        foreach (var (name, value) in new[] { ("Site", Site), ("Device", Device) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(['/', '#', '+']) >= 0)
            {
                problems.Add($"{name} '{value}' must be set and cannot hold '/', '#' or '+' (it is a topic level).");
            }
        }

        if (string.IsNullOrWhiteSpace(TopicRoot) || TopicRoot.IndexOfAny(['#', '+']) >= 0 || TopicRoot.StartsWith('/') || TopicRoot.EndsWith('/'))
        {
            problems.Add($"TopicRoot '{TopicRoot}' must be a topic without wildcards or a leading or trailing '/'.");
        }

        if (MaxMessagesPerSecond < 1 || BatchSize < 1)
        {
            problems.Add("MaxMessagesPerSecond and BatchSize must be at least 1.");
        }

        if (MinReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < MinReconnectDelay || PollInterval <= TimeSpan.Zero || Timeout <= TimeSpan.Zero)
        {
            problems.Add("MinReconnectDelay, PollInterval and Timeout must be positive, MaxReconnectDelay not below MinReconnectDelay.");
        }

        return problems;
    }
}

/// <summary>A command as it came down on <c>{root}/{site}/{device}/cmd/{Name}</c>: its raw payload, not yet trusted.</summary>
public sealed record SyncCommand(string Name, byte[] Payload, bool Retained);

/// <summary>Acts on commands from the programme. Answers go back through the outbox, so they are as durable as results.</summary>
public interface ISyncCommandHandler
{
    /// <summary>Validates, applies, audits and answers one command. Bad input is answered, not thrown.</summary>
    /// <exception cref="Edge.Storage.StorageException">The record could not be written: the command is neither applied nor answered.</exception>
    ValueTask HandleAsync(SyncCommand command, CancellationToken cancellationToken);
}

/// <summary>What the retained birth message says about this device, besides its backlog.</summary>
public sealed record DeviceStatusInfo(string FirmwareVersion, string? ModelName, string? ModelVersion, string? Provider);

/// <summary>The retained message on <c>.../status</c>: the birth message on connect, or the offline will.</summary>
public sealed record DeviceStatusMessage(
    string State,
    string Site,
    string Device,
    string? Firmware,
    string? ModelName,
    string? ModelVersion,
    string? Provider,
    long? Backlog,
    DateTimeOffset At);

/// <summary>Exponential backoff with jitter: a pure function so the schedule can be checked with a table.</summary>
public static class ReconnectBackoff
{
    /// <summary>
    /// min * 2^attempt capped at max, then "equal jitter": half fixed, half random (<paramref name="random"/> in [0, 1)), so a
    /// province's devices coming back after a broker outage do not reconnect in lockstep, and no delay falls below min/2.
    /// </summary>
    public static TimeSpan Delay(int attempt, TimeSpan min, TimeSpan max, double random)
    {
        var exponent = Math.Min(Math.Max(attempt, 0), 30);
        var capped = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds((capped / 2) + (capped / 2 * Math.Clamp(random, 0, 1)));
    }
}
