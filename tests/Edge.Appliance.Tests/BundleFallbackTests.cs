using System.Security.Cryptography;
using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>
/// A model update gone wrong on a running site: a newer bundle beside the good one is corrupted in transit or signed by
/// someone else. The appliance must refuse it, keep screening with the previous bundle, and keep the fault light on.
/// </summary>
public sealed class BundleFallbackTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _temp = new("edge-bundle-fallback");

    [Theory]
    [InlineData("corrupted")]
    [InlineData("resigned")]
    public async Task Run_NewerBundleUntrusted_ScreensWithThePreviousAndShowsTheFault(string damage)
    {
        var models = _temp.Combine("models");
        var previous = CopyBundle(models, "1.0.0");
        var newer = CopyBundle(models, "1.1.0");
        var manifest = Path.Combine(newer, "model.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"1.0.0\"", "\"1.1.0\"", StringComparison.Ordinal));
        if (damage == "corrupted")
        {
            // Signed properly by the programme's key, then damaged on the way: the model no longer matches its manifest.
            using var programme = ECDsa.Create();
            programme.ImportFromPem(File.ReadAllText(Path.Combine(Repo.Root, "models", "keys", "dev", "bundle-signing.key.pem")));
            Sign(manifest, programme);
            var model = Path.Combine(newer, "model.onnx");
            var bytes = File.ReadAllBytes(model);
            bytes[bytes.Length / 3] ^= 0x5A;
            File.WriteAllBytes(model, bytes);
        }
        else
        {
            using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            Sign(manifest, stranger);
        }

        var config = PublishedAppliance.WriteConfig(_temp, modelPath: models);
        Directory.CreateDirectory(_temp.Combine("inbox"));
        File.Copy(Repo.UprightChestDicomSamples[0], _temp.Combine("inbox", "a.dcm"));

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "run", "--config", config, "--until-idle");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"Model bundle {newer} refused: " + (damage == "corrupted" ? "model.onnx has sha256" : "its signature does not verify"), result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Model tb-cxr 1.0.0 ready", result.Stderr, StringComparison.Ordinal);
        using var line = JsonDocument.Parse(File.ReadLines(_temp.Combine("out", "results.jsonl")).Single());
        Assert.Equal("screened", line.RootElement.GetProperty("status").GetString());
        Assert.Equal("1.0.0", line.RootElement.GetProperty("model").GetProperty("version").GetString());
        Assert.Equal(ModelSha256(previous), line.RootElement.GetProperty("model").GetProperty("sha256").GetString());

        // The fault pattern is raised and still the one shown when the appliance stops: a result does not clear it.
        var patterns = File.ReadLines(_temp.Combine("out", "lights.log")).Where(l => l.Contains(" # ", StringComparison.Ordinal)).ToList();
        Assert.Contains(patterns, p => p.Contains("red blink 2Hz + buzzer (fault)", StringComparison.Ordinal));
        Assert.Contains("(fault)", patterns[^2], StringComparison.Ordinal);
        Assert.Contains("stopped", patterns[^1], StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    private static string CopyBundle(string models, string version)
    {
        var target = Path.Combine(models, version);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(Repo.CurrentBundle))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }

    /// <summary>Signs the manifest the way bundles are signed (ECDSA P-256 over its bytes, SHA-256, DER, base64).</summary>
    private static void Sign(string manifest, ECDsa key)
    {
        var signature = key.SignData(File.ReadAllBytes(manifest), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        File.WriteAllText(manifest + ".sig", Convert.ToBase64String(signature));
    }

    private static string ModelSha256(string bundle) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(bundle, "model.onnx"))));
}
