using System.Globalization;
using System.Text.Json;

namespace Edge.Collector;

/// <summary>
/// <c>Collector:Drift:*</c>: when the collector flags a device's newest drift summary against that device's own recent
/// past. Defaults suit a clinic's daily volume; a shift below them is day-to-day noise on tens of films.
/// </summary>
public sealed class DriftFlagOptions
{
    /// <summary>How many earlier daily summaries form the baseline (their median).</summary>
    public int BaselineDays { get; set; } = 7;

    /// <summary>Fewer earlier summaries than this: nothing to compare with yet, so no flag.</summary>
    public int MinBaselineDays { get; set; } = 3;

    /// <summary>Days with fewer screened images than this are too few to judge scores and refer rate (inputs and scanners still are).</summary>
    public int MinScoredImages { get; set; } = 20;

    /// <summary>Median score (0-100) moved by more than this many points.</summary>
    public double ScoreShiftPoints { get; set; } = 10;

    /// <summary>Refer rate (0-1) moved by more than this, absolute (0.10 = ten percentage points).</summary>
    public double ReferRateChange { get; set; } = 0.10;

    /// <summary>Median width or height changed by more than this fraction.</summary>
    public double InputSizeChange { get; set; } = 0.20;

    /// <summary>Median intensity mean or spread (fractions of full scale) moved by more than this.</summary>
    public double IntensityChange { get; set; } = 0.10;

    public IEnumerable<string> Problems()
    {
        if (BaselineDays < 1 || MinBaselineDays < 1 || MinBaselineDays > BaselineDays)
        {
            yield return "Collector:Drift: BaselineDays and MinBaselineDays must be at least 1, MinBaselineDays not above BaselineDays.";
        }

        if (MinScoredImages < 1 || ScoreShiftPoints is <= 0 or > 100 || ReferRateChange is <= 0 or > 1 || InputSizeChange <= 0 || IntensityChange is <= 0 or > 1)
        {
            yield return "Collector:Drift: MinScoredImages must be at least 1; ScoreShiftPoints (0-100], ReferRateChange (0-1], InputSizeChange above 0 and IntensityChange (0-1].";
        }
    }
}

/// <summary>What the flags are judged on, read from one drift summary (docs/sync-protocol.md "Drift summary").</summary>
public sealed record DriftSummary(
    string? Day,
    int ScoredImages,
    double? ScoreP50,
    double? ReferRate,
    double? WidthP50,
    double? HeightP50,
    double? IntensityMeanP50,
    double? IntensityStdP50,
    IReadOnlySet<string> Scanners,
    IReadOnlySet<string> BitsStored)
{
    /// <summary>Null when the document is not a drift summary at all (not JSON, not an object); missing parts read as null/empty.</summary>
    public static DriftSummary? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var scores = Child(root, "scores");
            var inputs = Child(root, "inputs");
            var scanners = new HashSet<string>(StringComparer.Ordinal);
            if (Child(root, "scanners") is { ValueKind: JsonValueKind.Array } list)
            {
                foreach (var scanner in list.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object))
                {
                    scanners.Add($"{Text(scanner, "manufacturer")?.Trim()} / {Text(scanner, "model")?.Trim()}");
                }
            }

            var bits = new HashSet<string>(StringComparer.Ordinal);
            if (inputs is { } i && Child(i, "bitsStored") is { ValueKind: JsonValueKind.Array } codes)
            {
                foreach (var code in codes.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object))
                {
                    if (Text(code, "code") is { } value)
                    {
                        bits.Add(value);
                    }
                }
            }

            return new DriftSummary(
                Text(root, "date") ?? Text(root, "day"),
                scores is { } s && Number(s, "count") is { } count ? (int)count : 0,
                scores is { } s1 ? Number(s1, "p50") : null,
                scores is { } s2 ? Number(s2, "referRate") : null,
                P50(inputs, "width"),
                P50(inputs, "height"),
                P50(inputs, "intensityMean"),
                P50(inputs, "intensityStd"),
                scanners,
                bits);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement? Child(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Text(JsonElement parent, string name) => Child(parent, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static double? Number(JsonElement parent, string name) => Child(parent, name) is { ValueKind: JsonValueKind.Number } value ? value.GetDouble() : null;

    private static double? P50(JsonElement? inputs, string name) => inputs is { } i && Child(i, name) is { } spread ? Number(spread, "p50") : null;
}

/// <summary>
/// The collector's own judgement of drift: a device's newest summary against the median of its earlier ones. The
/// appliance reports distributions, not verdicts, so every device is judged by the same rules, set in one place.
/// </summary>
public static class DriftRules
{
    public const string ScannerChanged = "scanner-changed";
    public const string ScoreShift = "score-shift";
    public const string ReferRateShift = "refer-rate-shift";
    public const string InputSizeChanged = "input-size-changed";
    public const string IntensityShift = "intensity-shift";
    public const string BitDepthChanged = "bit-depth-changed";

    /// <summary>
    /// Flags, each with what moved (e.g. <c>score-shift: median 18.0 -> 31.5</c>), for <paramref name="newest"/> against
    /// <paramref name="earlier"/> (older days of the same device, any order; the newest <see cref="DriftFlagOptions.BaselineDays"/> are used).
    /// </summary>
    public static IReadOnlyList<string> Flags(DriftSummary newest, IReadOnlyList<DriftSummary> earlier, DriftFlagOptions options)
    {
        var baseline = earlier
            .Where(e => e.Day is null || newest.Day is null || string.CompareOrdinal(e.Day, newest.Day) < 0)
            .OrderByDescending(e => e.Day, StringComparer.Ordinal)
            .Take(options.BaselineDays)
            .ToList();
        if (baseline.Count < options.MinBaselineDays)
        {
            return [];
        }

        var flags = new List<string>();

        // A make/model not seen on any baseline day, or one the device always had now gone: a scanner swap or a new one.
        var before = baseline.Where(b => b.Scanners.Count > 0).ToList();
        if (newest.Scanners.Count > 0 && before.Count > 0)
        {
            var seen = before.SelectMany(b => b.Scanners).ToHashSet(StringComparer.Ordinal);
            var always = before.Skip(1).Aggregate(before[0].Scanners.ToHashSet(StringComparer.Ordinal), (all, b) => { all.IntersectWith(b.Scanners); return all; });
            var added = newest.Scanners.Where(s => !seen.Contains(s)).Order(StringComparer.Ordinal).ToList();
            var gone = always.Where(s => !newest.Scanners.Contains(s)).Order(StringComparer.Ordinal).ToList();
            if (added.Count > 0 || gone.Count > 0)
            {
                flags.Add($"{ScannerChanged}: {Describe(added, "new")}{(added.Count > 0 && gone.Count > 0 ? "; " : "")}{Describe(gone, "missing")}");
            }
        }

        var scored = baseline.Where(b => b.ScoredImages >= options.MinScoredImages).ToList();
        if (newest.ScoredImages >= options.MinScoredImages && scored.Count >= options.MinBaselineDays)
        {
            Compare(flags, ScoreShift, "median score", newest.ScoreP50, Median(scored, b => b.ScoreP50), (now, then) => Math.Abs(now - then) > options.ScoreShiftPoints, "0.0");
            Compare(flags, ReferRateShift, "refer rate", newest.ReferRate, Median(scored, b => b.ReferRate), (now, then) => Math.Abs(now - then) > options.ReferRateChange, "0.000");
        }

        var size = new List<string>();
        Compare(size, InputSizeChanged, "median width", newest.WidthP50, Median(baseline, b => b.WidthP50), (now, then) => then > 0 && Math.Abs(now - then) / then > options.InputSizeChange, "0");
        Compare(size, InputSizeChanged, "median height", newest.HeightP50, Median(baseline, b => b.HeightP50), (now, then) => then > 0 && Math.Abs(now - then) / then > options.InputSizeChange, "0");
        if (size.Count > 0)
        {
            flags.Add(InputSizeChanged + ": " + string.Join("; ", size.Select(s => s[(InputSizeChanged.Length + 2)..])));
        }

        var intensity = new List<string>();
        Compare(intensity, IntensityShift, "median intensity", newest.IntensityMeanP50, Median(baseline, b => b.IntensityMeanP50), (now, then) => Math.Abs(now - then) > options.IntensityChange, "0.000");
        Compare(intensity, IntensityShift, "median contrast", newest.IntensityStdP50, Median(baseline, b => b.IntensityStdP50), (now, then) => Math.Abs(now - then) > options.IntensityChange, "0.000");
        if (intensity.Count > 0)
        {
            flags.Add(IntensityShift + ": " + string.Join("; ", intensity.Select(s => s[(IntensityShift.Length + 2)..])));
        }

        // Bit depth: the set of bits-stored values differs from every baseline day's (a new detector or export setting).
        var bitsBefore = baseline.Where(b => b.BitsStored.Count > 0).ToList();
        if (newest.BitsStored.Count > 0 && bitsBefore.Count > 0 && !bitsBefore.Any(b => b.BitsStored.SetEquals(newest.BitsStored)))
        {
            var seen = bitsBefore.SelectMany(b => b.BitsStored).ToHashSet(StringComparer.Ordinal);
            flags.Add($"{BitDepthChanged}: bits stored {string.Join(",", newest.BitsStored.Order(StringComparer.Ordinal))} (before {string.Join(",", seen.Order(StringComparer.Ordinal))})");
        }

        return flags;
    }

    /// <summary>The drift documents of one device, newest first: flags of the first against the rest.</summary>
    public static IReadOnlyList<string> FlagsOfHistory(IReadOnlyList<string> newestFirst, DriftFlagOptions options)
    {
        var summaries = newestFirst.Select(DriftSummary.Parse).ToList();
        return summaries.Count == 0 || summaries[0] is not { } newest ? [] : Flags(newest, [.. summaries.Skip(1).OfType<DriftSummary>()], options);
    }

    private static void Compare(List<string> flags, string flag, string what, double? now, double? then, Func<double, double, bool> moved, string format)
    {
        if (now is { } n && then is { } t && moved(n, t))
        {
            flags.Add($"{flag}: {what} {t.ToString(format, CultureInfo.InvariantCulture)} -> {n.ToString(format, CultureInfo.InvariantCulture)}");
        }
    }

    private static double? Median(IReadOnlyList<DriftSummary> days, Func<DriftSummary, double?> value)
    {
        var values = days.Select(value).OfType<double>().Order().ToList();
        return values.Count == 0 ? null : values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static string Describe(IReadOnlyList<string> scanners, string label) => scanners.Count == 0 ? "" : $"{label} {string.Join(", ", scanners)}";
}
