using System.Security.Cryptography;

namespace Edge.Inference;

/// <summary>A bundle that was found but not trusted, and why.</summary>
public sealed record BundleRefusal(string Directory, string Reason);

/// <summary>The outcome of choosing a bundle: the one in use (if any) and every one refused on the way.</summary>
public sealed record BundleSelection(ModelBundle? Bundle, IReadOnlyList<BundleRefusal> Refused);

/// <summary>
/// Chooses the bundle to run. <c>Edge:Model:Path</c> is either one bundle folder or a folder of versioned bundles
/// (<c>1.0.0/</c>, <c>1.1.0/</c>, ...). The newest that verifies wins, so a new bundle that fails verification is refused
/// and the previous one stays in service.
/// </summary>
public static class BundleCatalog
{
    public static BundleSelection Select(string path, ECDsa trustedKey)
    {
        var refused = new List<BundleRefusal>();
        foreach (var candidate in Candidates(path))
        {
            try
            {
                return new BundleSelection(ModelBundle.Load(candidate, trustedKey), refused);
            }
            catch (ModelBundleException ex)
            {
                refused.Add(new BundleRefusal(candidate, ex.Message));
            }
        }

        if (refused.Count == 0)
        {
            refused.Add(new BundleRefusal(path, $"No model bundle found at {path}."));
        }

        return new BundleSelection(null, refused);
    }

    private static IEnumerable<string> Candidates(string path)
    {
        if (File.Exists(Path.Combine(path, ModelBundle.ManifestFile)) || !Directory.Exists(path))
        {
            return [path];
        }

        return Directory.EnumerateDirectories(path)
            .Where(d => File.Exists(Path.Combine(d, ModelBundle.ManifestFile)))
            .OrderByDescending(d => ParseVersion(Path.GetFileName(d)))
            .ThenByDescending(d => Path.GetFileName(d), StringComparer.Ordinal);
    }

    private static Version ParseVersion(string name) => Version.TryParse(name, out var v) ? v : new Version(0, 0);
}
