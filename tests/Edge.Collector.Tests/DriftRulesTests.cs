using System.Globalization;

namespace Edge.Collector.Tests;

/// <summary>The collector's drift decision, as a table: a device's newest summary against its own earlier days.</summary>
public sealed class DriftRulesTests
{
    private static readonly DriftFlagOptions Defaults = new();

    /// <summary>A week of the same FUJI scanner, 12-bit, 2140 x 2140, median score 18, refer rate 0.15, 40 scored images.</summary>
    private static IReadOnlyList<string> Week(int days = 7, string scanner = "FUJI", int scored = 40) =>
        [.. Enumerable.Range(1, days).Select(d => Summary($"2026-11-{d:00}", scanner: scanner, scored: scored, p50: 17 + (d % 3), referRate: 0.14 + (d % 3 * 0.01)))];

    public static TheoryData<string, string, string> Cases => new()
    {
        // case, newest summary (JSON), expected flag names (comma-separated, in order)
        { "same as the week", Summary("2026-11-08"), "" },
        { "score within the threshold", Summary("2026-11-08", p50: 27.5), "" },
        { "median score up 14 points", Summary("2026-11-08", p50: 32), "score-shift" },
        { "median score down 12 points", Summary("2026-11-08", p50: 6), "score-shift" },
        { "refer rate up 12 points", Summary("2026-11-08", referRate: 0.27), "refer-rate-shift" },
        { "score shift on too few images is not judged", Summary("2026-11-08", p50: 60, referRate: 0.9, scored: 5), "" },
        { "a second scanner appears", Summary("2026-11-08", scanner: "FUJI", extraScanner: "CARESTREAM"), "scanner-changed" },
        { "the scanner was swapped", Summary("2026-11-08", scanner: "CARESTREAM"), "scanner-changed" },
        { "images half the size", Summary("2026-11-08", width: 1070), "input-size-changed" },
        { "images 15% smaller stay within", Summary("2026-11-08", width: 1820, height: 1820), "" },
        { "brighter by 0.15 of full scale", Summary("2026-11-08", intensity: 0.60), "intensity-shift" },
        { "8-bit instead of 12-bit", Summary("2026-11-08", bits: "8"), "bit-depth-changed" },
        { "new detector: scanner, size, bit depth and scores at once", Summary("2026-11-08", scanner: "CARESTREAM", width: 3000, height: 3000, bits: "14", p50: 40, referRate: 0.4), "scanner-changed,score-shift,refer-rate-shift,input-size-changed,bit-depth-changed" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Flags_NewestAgainstAWeek_FlagsWhatMovedBeyondItsThreshold(string @case, string newest, string expected)
    {
        var flags = DriftRules.FlagsOfHistory([newest, .. Week().Reverse()], Defaults);

        Assert.True(expected == string.Join(',', flags.Select(f => f.Split(':')[0])), $"{@case}: got {string.Join(" | ", flags)}");
    }

    [Fact]
    public void Flags_ScoreShift_SaysFromWhatToWhat()
    {
        var flags = DriftRules.FlagsOfHistory([Summary("2026-11-08", p50: 32), .. Week()], Defaults);

        Assert.Equal("score-shift: median score 18.0 -> 32.0", Assert.Single(flags));
    }

    [Fact]
    public void Flags_FewerEarlierDaysThanTheMinimum_NoFlag()
    {
        Assert.Empty(DriftRules.FlagsOfHistory([Summary("2026-11-08", scanner: "CARESTREAM", p50: 80), .. Week(days: 2)], Defaults));
        Assert.NotEmpty(DriftRules.FlagsOfHistory([Summary("2026-11-08", scanner: "CARESTREAM", p50: 80), .. Week(days: 2)], new DriftFlagOptions { MinBaselineDays = 2 }));
    }

    [Fact]
    public void Flags_ThresholdsFromOptions_Applied()
    {
        var strict = new DriftFlagOptions { ScoreShiftPoints = 3 };

        Assert.Empty(DriftRules.FlagsOfHistory([Summary("2026-11-08", p50: 23), .. Week()], Defaults));
        Assert.Equal("score-shift", DriftRules.FlagsOfHistory([Summary("2026-11-08", p50: 23), .. Week()], strict).Single().Split(':')[0]);
    }

    [Fact]
    public void Flags_BaselineIsOnlyTheNewestEarlierDays_AnOldScannerDoesNotHideASwapBack()
    {
        // A month ago the device had another scanner; the last week it had FUJI only; today CARESTREAM again.
        var history = Week().Concat([Summary("2026-10-01", scanner: "CARESTREAM")]).ToList();

        Assert.Equal("scanner-changed", DriftRules.FlagsOfHistory([Summary("2026-11-08", scanner: "CARESTREAM"), .. history], Defaults).Single().Split(':')[0]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"day":"2026-12-01","flags":["score-shift"]}""")]
    public void Flags_DocumentsWithoutDistributions_NoDerivedFlag(string newest)
    {
        Assert.Empty(DriftRules.FlagsOfHistory([newest, .. Week()], Defaults));
    }

    [Fact]
    public void From_ApplianceFlagsAndDerived_BothShown()
    {
        var row = new DeviceRow("site-a", "dev-1", null, "online", null, null, null, null, null, null, null, null, "2026-11-08", """{"flags":["appliance-said"]}""");

        var health = DeviceHealth.From(row, [Summary("2026-11-08", p50: 40), .. Week()], Defaults);

        Assert.Equal(["appliance-said", "score-shift"], health.DriftFlags.Select(f => f.Split(':')[0]));
    }

    [Fact]
    public void Problems_BadThresholds_Named()
    {
        Assert.Empty(new DriftFlagOptions().Problems());
        Assert.NotEmpty(new DriftFlagOptions { MinBaselineDays = 9 }.Problems());
        Assert.NotEmpty(new DriftFlagOptions { ReferRateChange = 10 }.Problems());
        Assert.Contains(new CollectorOptions { Mqtt = { Host = "h" }, Drift = { ScoreShiftPoints = 0 } }.Validate(), p => p.StartsWith("Collector:Drift", StringComparison.Ordinal));
    }

    /// <summary>A drift summary in the appliance's format (docs/sync-protocol.md), with what each case changes.</summary>
    private static string Summary(
        string date,
        string scanner = "FUJI",
        string? extraScanner = null,
        int scored = 40,
        double p50 = 18,
        double referRate = 0.15,
        double width = 2140,
        double height = 2140,
        double intensity = 0.45,
        string bits = "12")
    {
        string N(double v) => v.ToString(CultureInfo.InvariantCulture);
        var scanners = $$"""{"manufacturer":"{{scanner}}","model":"9000","count":{{scored}}}""" + (extraScanner is null ? "" : $$""",{"manufacturer":"{{extraScanner}}","model":"DRX","count":3}""");
        return $$"""
            {"id":"site-a/dev-1/drift/{{date}}","site":"site-a","device":"dev-1","date":"{{date}}","timeZone":"UTC","complete":true,
             "model":{"name":"tb-cxr","version":"1.0.0","sha256":"ab"},"images":{{scored + 2}},
             "scores":{"count":{{scored}},"mean":{{N(p50 + 4)}},"p10":2,"p25":8,"p50":{{N(p50)}},"p75":33,"p90":60,"histogram":[1,1,1,1,1,1,1,1,1,1],"referRate":{{N(referRate)}}},
             "inputs":{"width":{"p10":2000,"p50":{{N(width)}},"p90":2500},"height":{"p10":2000,"p50":{{N(height)}},"p90":2500},
                       "intensityMean":{"p10":0.4,"p50":{{N(intensity)}},"p90":0.5},"intensityStd":{"p10":0.2,"p50":0.25,"p90":0.3},"pixelSpacingMm":null,
                       "formats":[{"code":"dicom","count":{{scored}}}],"bitsStored":[{"code":"{{bits}}","count":{{scored}}}]},
             "scanners":[{{scanners}}],"qcCodes":[]}
            """;
    }
}
