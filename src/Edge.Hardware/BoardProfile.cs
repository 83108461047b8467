using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Hardware;

/// <summary>One GPIO line: its offset on the profile's chip, the header pin it is wired to, and its polarity.</summary>
public sealed record ProfileLine(int Offset, int Header, bool ActiveLow = false);

/// <summary>
/// Which GPIO lines of a board drive the console: data in <c>hardware/profiles/*.json</c>, built into the program,
/// selected by <c>Edge:Hardware:Profile</c> (a built-in name or the path of a JSON file).
/// </summary>
public sealed record BoardProfile(
    string Name,
    string Description,
    int Chip,
    string ChipLabel,
    ProfileLine Green,
    ProfileLine Yellow,
    ProfileLine Red,
    ProfileLine? Sync,
    ProfileLine? Buzzer,
    ProfileLine? Button,
    string? PrinterPort = null)
{
    public const string Simulated = "simulated";

    /// <summary>The built-in profile names.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } =
        [.. typeof(BoardProfile).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("profiles/", StringComparison.Ordinal))
            .Select(n => Path.GetFileNameWithoutExtension(n))
            .Order(StringComparer.Ordinal)];

    /// <summary>The output lines by name, for logs and the simulator.</summary>
    public IEnumerable<(string Name, ProfileLine Line)> Outputs()
    {
        yield return ("green", Green);
        yield return ("yellow", Yellow);
        yield return ("red", Red);
        if (Sync is { } sync)
        {
            yield return ("sync", sync);
        }

        if (Buzzer is { } buzzer)
        {
            yield return ("buzzer", buzzer);
        }
    }

    /// <summary>Every line by offset, outputs and the button, for naming them in the simulator's log.</summary>
    public IReadOnlyDictionary<int, string> LineNames() =>
        Outputs().Concat(Button is { } b ? [("button", b)] : []).ToDictionary(l => l.Line.Offset, l => l.Name);

    /// <summary>A built-in profile by name, or a profile file by path.</summary>
    /// <exception cref="HardwareException">Unknown name, unreadable file, or a profile that reuses a line.</exception>
    public static BoardProfile Load(string nameOrPath)
    {
        string json;
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                json = File.ReadAllText(nameOrPath);
            }
            catch (IOException ex)
            {
                throw new HardwareException($"Board profile {nameOrPath} cannot be read: {ex.Message}", ex);
            }
        }
        else
        {
            using var stream = typeof(BoardProfile).Assembly.GetManifestResourceStream($"profiles/{nameOrPath}.json")
                ?? throw new HardwareException($"Board profile '{nameOrPath}' is not known: use one of {string.Join(", ", BuiltIn)} or the path of a profile .json file.");
            using var reader = new StreamReader(stream);
            json = reader.ReadToEnd();
        }

        BoardProfile profile;
        try
        {
            profile = JsonSerializer.Deserialize(json, ProfileJson.Default.BoardProfile) ?? throw new HardwareException($"Board profile {nameOrPath} is empty.");
        }
        catch (JsonException ex)
        {
            throw new HardwareException($"Board profile {nameOrPath} is not valid: {ex.Message}", ex);
        }

        var lines = profile.Outputs().Select(l => l.Line.Offset).Concat(profile.Button is { } b ? [b.Offset] : []).ToList();
        if (lines.Distinct().Count() != lines.Count)
        {
            throw new HardwareException($"Board profile {profile.Name} uses one GPIO line for two functions.");
        }

        return profile;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(BoardProfile))]
internal sealed partial class ProfileJson : JsonSerializerContext;

/// <summary>The hardware boundary's one failure type: a profile, a GPIO chip or a printer that cannot be used.</summary>
public sealed class HardwareException(string message, Exception? inner = null) : Exception(message, inner);
