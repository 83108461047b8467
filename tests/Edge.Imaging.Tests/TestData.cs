using System.Globalization;
using Edge.TestSupport;

namespace Edge.Imaging.Tests;

/// <summary>Locates committed fixtures and the shared data set next to the repository.</summary>
internal static class TestData
{
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>Expected gray values written by Fixtures/make_fixtures.py: "width height" then one value per pixel.</summary>
    public static (int Width, int Height, float[] Values) Expected(string fixtureName)
    {
        var text = File.ReadAllText(Fixture(Path.ChangeExtension(fixtureName, ".expected.txt")));
        var tokens = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var values = tokens.Skip(2).Select(t => float.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        return (int.Parse(tokens[0], CultureInfo.InvariantCulture), int.Parse(tokens[1], CultureInfo.InvariantCulture), values);
    }

    /// <summary>A path under ../shared/data beside the repository.</summary>
    public static string SharedData(params string[] parts) => Path.Combine([Repo.SharedData, .. parts]);
}
