using Edge.Domain;

namespace Edge.Domain.Tests;

public sealed class CalibrationTests
{
    /// <summary>
    /// The fixture, worked by hand. Positives score 0.300, 0.335, 0.370, ..., 0.965 (20 cases, step 0.035); negatives score
    /// 0.00, 0.02, ..., 0.48 (25 cases). Target 0.90: k = ceil(0.9 x 20) = 18, so the threshold is the 18th highest positive
    /// score, the third lowest: 0.370. At 0.370, 18/20 positives refer (sensitivity 0.90); negatives below 0.370 are 0.00
    /// to 0.36, 19 of 25 (specificity 0.76). Wilson 95 % on 18/20: centre (0.9 + 1.96^2/40) / (1 + 1.96^2/20) = 0.8356,
    /// half-width 1.96/1.1921 x sqrt(0.0045 + 0.0024) = 0.1366, so 0.699 to 0.972.
    /// </summary>
    public static IReadOnlyList<CalibrationCase> Fixture =>
    [
        .. Enumerable.Range(0, 20).Select(i => new CalibrationCase(Math.Round(0.300 + (0.035 * i), 3), true)),
        .. Enumerable.Range(0, 25).Select(j => new CalibrationCase(Math.Round(0.02 * j, 2), false)),
    ];

    [Fact]
    public void Compute_HandWorkedFixture_ThresholdIsTheEighteenthHighestPositive()
    {
        var report = SiteCalibration.Compute(Fixture, new CalibrationSettings());

        Assert.Null(report.Refusal);
        Assert.Equal(0.370, report.Threshold!.Value, 9);
        Assert.Equal(0.90, report.Sensitivity!.Value, 9);
        Assert.Equal(0.76, report.Specificity!.Value, 9);
        Assert.Equal(0.699, report.SensitivityInterval!.Value.Low, 3);
        Assert.Equal(0.972, report.SensitivityInterval!.Value.High, 3);
    }

    [Theory]
    [InlineData(0.90, 0.370)]
    [InlineData(0.95, 0.335)]
    [InlineData(1.00, 0.300)]
    [InlineData(0.50, 0.650)]
    [InlineData(0.05, 0.965)]
    public void Compute_TargetSensitivity_HighestThresholdReachingIt(double target, double expected)
    {
        // k = ceil(target x 20): 18, 19, 20, 10, 1; the k-th highest of 0.300 + 0.035 i is 0.300 + 0.035 (20 - k).
        var report = SiteCalibration.Compute(Fixture, new CalibrationSettings(target));

        Assert.Equal(expected, report.Threshold!.Value, 9);
        Assert.True(report.Sensitivity >= target);
    }

    [Fact]
    public void Compute_TiesAtTheThreshold_RefersThemAndCountsThemAsFound()
    {
        // Ten positives, three of them at the lowest score: 90 % needs the 9th highest (0.2), which also takes the 10th.
        CalibrationCase[] cases = [.. new[] { 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2, 0.2 }.Select(s => new CalibrationCase(s, true)), .. Enumerable.Repeat(new CalibrationCase(0.1, false), 10)];

        var report = SiteCalibration.Compute(cases, new CalibrationSettings(MinPositives: 10, MinNegatives: 10));

        Assert.Equal(0.2, report.Threshold!.Value, 9);
        Assert.Equal(1.0, report.Sensitivity!.Value, 9);
        Assert.Equal(1.0, report.Specificity!.Value, 9);
    }

    [Fact]
    public void Compute_TooFewPositives_RefusesWithTheCounts()
    {
        var report = SiteCalibration.Compute([.. Fixture.Where(c => !c.Positive), .. Fixture.Where(c => c.Positive).Take(19)], new CalibrationSettings());

        Assert.True(report.Refused);
        Assert.Null(report.Threshold);
        Assert.Contains("19 positive and 25 negative", report.Refusal, StringComparison.Ordinal);
        Assert.Contains("at least 20 positive and 20 negative", report.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Compute_MinimumIsAnOption_FewerCasesAccepted()
    {
        var cases = Fixture.Where(c => c.Positive).Take(10).Concat(Fixture.Where(c => !c.Positive).Take(10)).ToList();

        Assert.True(SiteCalibration.Compute(cases, new CalibrationSettings()).Refused);
        Assert.False(SiteCalibration.Compute(cases, new CalibrationSettings(MinPositives: 10, MinNegatives: 10)).Refused);
    }

    [Fact]
    public void Roc_PerfectSeparation_AreaOne()
    {
        CalibrationCase[] cases = [new(0.9, true), new(0.8, true), new(0.2, false), new(0.1, false)];

        var roc = SiteCalibration.Roc(cases);

        Assert.Equal([(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)], roc.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)));
        Assert.Equal(1.0, SiteCalibration.Auc(roc), 9);
    }

    [Fact]
    public void Auc_Fixture_EqualsTheShareOfPairsOrderedRight()
    {
        // The area under the ROC curve equals the share of (positive, negative) pairs the score orders right, ties half.
        var cases = Fixture;
        var positives = cases.Where(c => c.Positive).Select(c => c.Score).ToArray();
        var negatives = cases.Where(c => !c.Positive).Select(c => c.Score).ToArray();
        var wins = positives.Sum(p => negatives.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0.0));

        Assert.Equal(wins / (positives.Length * negatives.Length), SiteCalibration.Auc(SiteCalibration.Roc(cases)), 9);
    }

    [Theory]
    [InlineData(0.975, 1.959964)]
    [InlineData(0.5, 0.0)]
    [InlineData(0.995, 2.575829)]
    [InlineData(0.01, -2.326348)]
    public void NormalQuantile_KnownValues(double p, double z) => Assert.Equal(z, SiteCalibration.NormalQuantile(p), 5);

    [Fact]
    public void Wilson_AllSuccesses_UpperBoundOneLowerBelow()
    {
        var interval = SiteCalibration.Wilson(20, 20, 1.959964);

        Assert.Equal(1.0, interval.High, 9);
        Assert.Equal(0.839, interval.Low, 3);
    }
}
