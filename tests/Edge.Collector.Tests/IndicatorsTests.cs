namespace Edge.Collector.Tests;

public sealed class IndicatorsTests
{
    [Theory]
    [InlineData("2026-12-07", Period.Day, "2026-12-07", "2026-12-07", "2026-12-07")]
    [InlineData("2026-12-07", Period.Week, "2026-W50", "2026-12-07", "2026-12-13")]
    [InlineData("2027-01-01", Period.Week, "2026-W53", "2026-12-28", "2027-01-03")]
    [InlineData("2026-02-14", Period.Month, "2026-02", "2026-02-01", "2026-02-28")]
    public void PeriodOf_Day_KeyAndBounds(string day, Period period, string key, string start, string end)
    {
        var (k, s, e) = Indicators.PeriodOf(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), period);

        Assert.Equal((key, start, end), (k, s.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), e.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Compute_MixedOutcomes_WhoIndicatorsAndCells()
    {
        DailyCount[] counts =
        [
            new("s1", "2026-12-01", "25-34", "F", "screened", "refer", 3),
            new("s1", "2026-12-02", "25-34", "F", "screened", "no-refer", 9),
            new("s1", "2026-12-02", null, "M", "screened", "no-refer", 4),
            new("s1", "2026-12-03", null, null, "rejected", null, 2),
            new("s1", "2026-12-03", null, null, "error", null, 2),
            new("s1", "2026-11-30", "65+", "M", "screened", "refer", 1),
            new("s2", "2026-12-01", "0-4", "O", "screened", "refer", 5),
        ];

        var rows = Indicators.Compute(counts, Period.Month);

        var december = Assert.Single(rows, r => r.Site == "s1" && r.Period == "2026-12");
        Assert.Equal((20L, 16L, 3L, 2L, 2L), (december.Results, december.Screened, december.Presumptive, december.Rejected, december.Errors));
        Assert.Equal((18.8, 10.0), (december.ReferPercent!.Value, december.RejectedPercent!.Value));
        Assert.Equal(["25-34/F", "unknown/M", "unknown/unknown"], december.ByAgeSex.Select(c => $"{c.AgeBand}/{c.Sex}"));
        Assert.Equal(12, december.ByAgeSex[0].Screened);
        Assert.Equal(3, rows.Count);
        Assert.Equal(100.0, Assert.Single(rows, r => r.Site == "s2").ReferPercent);
    }

    [Fact]
    public void ThresholdChanges_BackAndForthAcrossDays_EveryChangeInOrder()
    {
        var t0 = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        ThresholdSpan[] spans =
        [
            new("s1", "d1", "2026-12-03", 40, "1.0.0", t0.AddDays(2), t0.AddDays(2).AddHours(5), 10),
            new("s1", "d1", "2026-12-01", 40, "1.0.0", t0, t0.AddHours(5), 10),
            new("s1", "d1", "2026-12-02", 35, "1.1.0", t0.AddDays(1), t0.AddDays(1).AddHours(5), 10),
            new("s1", "d2", "2026-12-02", 50, "1.0.0", t0.AddDays(1).AddHours(1), t0.AddDays(1).AddHours(1), 1),
        ];

        var changes = Indicators.ThresholdChanges(spans);

        Assert.Equal(["d1:35->40", "d2:->50", "d1:40->35", "d1:->40"], changes.Select(c => $"{c.Device}:{c.From}->{c.To}"));
    }

    [Theory]
    [InlineData("""{"flags":["score-shift","exposure"],"x":1}""", "score-shift,exposure")]
    [InlineData("""{"scoreDrift":true,"inputDrift":false,"alert":true}""", "scoreDrift,alert")]
    [InlineData("""{"mean":3}""", "")]
    [InlineData("""not json""", "")]
    public void DriftFlagsOf_Document_FlagsFound(string json, string expected)
    {
        Assert.Equal(expected, string.Join(',', DeviceHealth.DriftFlagsOf(json)));
    }
}
