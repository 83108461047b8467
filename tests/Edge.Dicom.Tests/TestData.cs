using Edge.TestSupport;

namespace Edge.Dicom.Tests;

/// <summary>Locates committed fixtures and the shared DICOM files (../shared/data/dicom from the repository root).</summary>
internal static class TestData
{
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static string SharedDicom(string relativePath) => Path.Combine(Repo.SharedDicom, relativePath);
}
