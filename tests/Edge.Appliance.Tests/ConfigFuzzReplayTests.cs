using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>
/// The suite's bounded share of the config fuzzing (tests/Edge.Fuzz, target <c>config</c>): every seed and every saved
/// finding loads into options that validate, or is refused with <see cref="ConfigurationException"/>, nothing else.
/// </summary>
public sealed class ConfigFuzzReplayTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-fuzz-config");

    public static TheoryData<string> Inputs()
    {
        var data = new TheoryData<string>();
        foreach (var folder in new[] { "Corpus", "Regressions" })
        {
            var directory = Path.Combine(Repo.Root, "tests", "Edge.Fuzz", folder, "config");
            if (Directory.Exists(directory))
            {
                foreach (var file in Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
                {
                    data.Add(Path.GetRelativePath(Repo.Root, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Load_FuzzInput_ValidOptionsOrConfigurationException(string input)
    {
        // Copied under a neutral name, as the harness writes each input.
        var path = _temp.Combine("appsettings.json");
        File.Copy(Path.Combine(Repo.Root, input), path);
        try
        {
            var options = EdgeOptions.Load(path);
            Assert.Empty(options.Validate());
        }
        catch (ConfigurationException ex)
        {
            Assert.NotEmpty(ex.Message);
        }
    }

    public void Dispose() => _temp.Dispose();
}
