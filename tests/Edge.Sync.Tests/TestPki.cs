using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>A throwaway certificate authority made with the openssl CLI: a broker certificate and client certificates by common name.</summary>
public sealed class TestPki(TempDirectory folder)
{
    public string CaPath => folder.Combine("ca.pem");

    public string ServerCertPath => folder.Combine("server.pem");

    public string ServerKeyPath => folder.Combine("server.key");

    public async Task CreateAsync()
    {
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Test CA", "-keyout", folder.Combine("ca.key"), "-out", CaPath);
        await IssueAsync("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    }

    /// <summary>A client certificate; returns (cert, key) paths. A '/' in the name is escaped for openssl's -subj.</summary>
    public Task<(string Cert, string Key)> ClientAsync(string name, string commonName) => IssueAsync(name, commonName, "extendedKeyUsage=clientAuth");

    /// <summary>Mosquitto configuration for a mutual-TLS listener whose clients are named by their certificate.</summary>
    public string Listener(int port) =>
        $"listener {port} 127.0.0.1\ncafile {CaPath}\ncertfile {ServerCertPath}\nkeyfile {ServerKeyPath}\nrequire_certificate true\nuse_identity_as_username true\ntls_version tlsv1.2\n";

    private async Task<(string Cert, string Key)> IssueAsync(string name, string commonName, string extensions)
    {
        var (cert, key, csr, ext) = (folder.Combine(name + ".pem"), folder.Combine(name + ".key"), folder.Combine(name + ".csr"), folder.Combine(name + ".ext"));
        await File.WriteAllTextAsync(ext, extensions + "\n");
        await OpenSslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + commonName.Replace("/", "\\/", StringComparison.Ordinal), "-keyout", key, "-out", csr);
        await OpenSslAsync("x509", "-req", "-in", csr, "-CA", CaPath, "-CAkey", folder.Combine("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert);
        return (cert, key);
    }

    private static async Task OpenSslAsync(params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("openssl", arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"openssl {string.Join(' ', arguments)}: {result.Stderr}");
    }
}
