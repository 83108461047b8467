namespace Edge.TestSupport;

/// <summary>Paths the tests need, found from the test binary's location, never from the current directory.</summary>
public static class Repo
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The folder holding Edge.sln.</summary>
    public static string Root => RootPath.Value;

    /// <summary><c>../shared/data</c> beside the repository; fails with the fix when it is missing.</summary>
    public static string SharedData
    {
        get
        {
            var path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));
            if (!Directory.Exists(path))
            {
                throw new InvalidOperationException($"Shared test data not found at {path}: clone the repository next to the shared folder so that ../shared/data exists.");
            }

            return path;
        }
    }

    public static string SharedDicom => Path.Combine(SharedData, "dicom");

    public static string Shenzhen => Path.Combine(SharedData, "shenzhen-128");

    /// <summary>The model bundles folder the appliance loads from.</summary>
    public static string ModelBundles => Path.Combine(Root, "models", "tb-cxr");

    /// <summary>The newest committed bundle.</summary>
    public static string CurrentBundle =>
        Directory.EnumerateDirectories(ModelBundles)
            .Where(d => File.Exists(Path.Combine(d, "model.json")))
            .OrderByDescending(d => Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version(0, 0))
            .FirstOrDefault() ?? throw new InvalidOperationException($"No model bundle under {ModelBundles}.");

    public static string DevPublicKey => Path.Combine(Root, "models", "keys", "dev", "bundle-signing.pub.pem");

    public static string DevPrivateKey => Path.Combine(Root, "models", "keys", "dev", "bundle-signing.key.pem");

    /// <summary>The shared chest DICOM files (outside nonchest/).</summary>
    public static IReadOnlyList<string> ChestDicomSamples => [.. Directory.GetFiles(SharedDicom, "*.dcm").Order(StringComparer.Ordinal)];

    /// <summary>Shared chest files shown the right way round, which must be screened.</summary>
    public static IReadOnlyList<string> UprightChestDicomSamples => [Path.Combine(SharedDicom, "CR-MONO1-10-chest.dcm"), Path.Combine(SharedDicom, "RG1_J2KI.dcm"), Path.Combine(SharedDicom, "966_fixed.dcm")];

    /// <summary>Shared chest files whose pixels display inverted (bones dark) despite their photometric interpretation.</summary>
    public static IReadOnlyList<string> InvertedChestDicomSamples => [Path.Combine(SharedDicom, "JPEG2KLossless_1s_1f_u_16_16.dcm")];

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Edge.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"Repository root (the folder with Edge.sln) not found above {AppContext.BaseDirectory}.");
    }
}
