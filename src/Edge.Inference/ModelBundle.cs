using System.Security.Cryptography;
using System.Text.Json;

namespace Edge.Inference;

/// <summary>A verified bundle: its manifest, the checked model bytes, and where it lives.</summary>
public sealed record ModelBundle(string Directory, ModelManifest Manifest, byte[] ModelBytes)
{
    public const string ManifestFile = "model.json";
    public const string SignatureFile = "model.json.sig";
    public const string ManifestSchema = "edge.model-bundle/1";

    /// <summary>
    /// Loads and verifies one bundle directory: the manifest's ECDSA P-256 signature against the trusted key, then the model's sha256
    /// against the manifest. Reads the model once, so what is verified is exactly what is run.
    /// </summary>
    /// <exception cref="ModelBundleException">Anything missing, malformed, unsigned or altered.</exception>
    public static ModelBundle Load(string directory, ECDsa trustedKey)
    {
        var manifestPath = Path.Combine(directory, ManifestFile);
        var signaturePath = Path.Combine(directory, SignatureFile);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ModelBundleException($"Model bundle folder {directory} does not exist.");
        }

        if (!System.IO.File.Exists(manifestPath))
        {
            throw new ModelBundleException($"Model bundle {directory} has no {ManifestFile}.");
        }

        if (!System.IO.File.Exists(signaturePath))
        {
            throw new ModelBundleException($"Model bundle {directory} is not signed: {SignatureFile} is missing.");
        }

        var manifestBytes = System.IO.File.ReadAllBytes(manifestPath);
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(System.IO.File.ReadAllText(signaturePath).Trim());
        }
        catch (FormatException ex)
        {
            throw new ModelBundleException($"Model bundle {directory}: {SignatureFile} is not base64.", ex);
        }

        if (!trustedKey.VerifyData(manifestBytes, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
        {
            throw new ModelBundleException($"Model bundle {directory} refused: its signature does not verify against the trusted key.");
        }

        var manifest = ParseManifest(manifestBytes, directory);
        var modelPath = Path.Combine(directory, manifest.File);
        if (Path.GetFileName(manifest.File) != manifest.File || !System.IO.File.Exists(modelPath))
        {
            throw new ModelBundleException($"Model bundle {directory}: model file '{manifest.File}' is missing.");
        }

        var modelBytes = System.IO.File.ReadAllBytes(modelPath);
        var actual = Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        if (!string.Equals(actual, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelBundleException($"Model bundle {directory} refused: {manifest.File} has sha256 {actual[..12]}..., the signed manifest says {manifest.Sha256[..Math.Min(12, manifest.Sha256.Length)]}...");
        }

        return new ModelBundle(directory, manifest, modelBytes);
    }

    /// <summary>Reads a PEM public key (SubjectPublicKeyInfo).</summary>
    public static ECDsa LoadPublicKey(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new ModelBundleException($"Model signing public key {path} does not exist.");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(System.IO.File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new ModelBundleException($"Model signing public key {path} is not a PEM EC public key.", ex);
        }

        return key;
    }

    private static ModelManifest ParseManifest(byte[] bytes, string directory)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, ManifestJsonContext.Default.ModelManifest);
        }
        catch (JsonException ex)
        {
            throw new ModelBundleException($"Model bundle {directory}: {ManifestFile} is not valid: {ex.Message}", ex);
        }

        if (manifest is null || manifest.Schema != ManifestSchema)
        {
            throw new ModelBundleException($"Model bundle {directory}: {ManifestFile} is not an {ManifestSchema} manifest.");
        }

        var p = manifest.Preprocessing;
        var problems = new List<string>();
        if (p.Resize.Method != "area")
        {
            problems.Add($"resize method '{p.Resize.Method}'");
        }

        if (p.Intensity.Method != "histogram-equalisation" || p.Intensity.Ties != "mid-rank")
        {
            problems.Add($"intensity method '{p.Intensity.Method}' ({p.Intensity.Ties})");
        }

        if (p.Monochrome1 is not ("negate" or "none"))
        {
            problems.Add($"monochrome1 '{p.Monochrome1}'");
        }

        if (p.Voi != "none" || p.Colour != "luma-bt601")
        {
            problems.Add($"voi '{p.Voi}' / colour '{p.Colour}'");
        }

        if (p.Normalise.Std <= 0 || p.Resize.Width <= 0 || p.Resize.Height <= 0)
        {
            problems.Add("normalisation or size constants");
        }

        if (manifest.Threshold is <= 0 or >= 1)
        {
            problems.Add($"threshold {manifest.Threshold}");
        }

        if (problems.Count > 0)
        {
            throw new ModelBundleException($"Model bundle {directory} asks for preprocessing this appliance does not implement: {string.Join(", ", problems)}.");
        }

        return manifest;
    }
}
