namespace Edge.Domain;

/// <summary>A confirmed bacteriological outcome for a screened case: sputum smear or Xpert, positive or negative.</summary>
public enum ConfirmatoryTest
{
    Smear,
    Xpert,
}

/// <summary>One screened case with its confirmed outcome: the model's score and whether TB was found.</summary>
public readonly record struct CalibrationCase(double Score, bool Positive);

/// <summary>One point of the ROC curve: refer at or above <see cref="Threshold"/>.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>A two-sided interval on a proportion.</summary>
public readonly record struct Interval(double Low, double High);

public sealed record CalibrationSettings(double TargetSensitivity = 0.90, int MinPositives = 20, int MinNegatives = 20, double Confidence = 0.95);

/// <summary>
/// What the local data say: either a refusal with its reason (too few confirmed cases), or the ROC curve and the highest
/// threshold whose sensitivity on these cases reaches the target, with the Wilson score interval on that sensitivity.
/// </summary>
public sealed record CalibrationReport(
    int Positives,
    int Negatives,
    string? Refusal,
    IReadOnlyList<RocPoint> Roc,
    double? Auc,
    double? Threshold,
    double? Sensitivity,
    Interval? SensitivityInterval,
    double? Specificity,
    Interval? SpecificityInterval,
    CalibrationSettings Settings)
{
    public bool Refused => Refusal is not null;
}

/// <summary>Site calibration as a pure function of the confirmed cases (WHO asks sites to check the threshold on local data).</summary>
public static class SiteCalibration
{
    /// <summary>
    /// Refer means score >= threshold (as <see cref="ThresholdPolicy"/>), so the sensitivity at a threshold t is the share of
    /// positives scoring at least t. The chosen threshold is the highest t reaching the target: the k-th highest positive
    /// score with k = ceil(target x positives). Higher would miss more TB; lower would refer more people for nothing.
    /// </summary>
    public static CalibrationReport Compute(IReadOnlyList<CalibrationCase> cases, CalibrationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(cases);
        ArgumentNullException.ThrowIfNull(settings);
        var positives = cases.Where(c => c.Positive).Select(c => c.Score).OrderDescending().ToArray();
        var negatives = cases.Where(c => !c.Positive).Select(c => c.Score).ToArray();
        if (positives.Length < settings.MinPositives || negatives.Length < settings.MinNegatives)
        {
            var refusal = $"Too few confirmed cases to calibrate: {positives.Length} positive and {negatives.Length} negative; at least {settings.MinPositives} positive and {settings.MinNegatives} negative are needed, or the threshold would follow chance.";
            return new CalibrationReport(positives.Length, negatives.Length, refusal, [], null, null, null, null, null, null, settings);
        }

        var roc = Roc(cases);
        var k = (int)Math.Ceiling((settings.TargetSensitivity * positives.Length) - 1e-9);
        var threshold = positives[Math.Clamp(k, 1, positives.Length) - 1];
        var truePositives = positives.Count(s => s >= threshold);
        var trueNegatives = negatives.Count(s => s < threshold);
        var z = NormalQuantile(1 - ((1 - settings.Confidence) / 2));
        return new CalibrationReport(
            positives.Length,
            negatives.Length,
            null,
            roc,
            Auc(roc),
            threshold,
            (double)truePositives / positives.Length,
            Wilson(truePositives, positives.Length, z),
            (double)trueNegatives / negatives.Length,
            Wilson(trueNegatives, negatives.Length, z),
            settings);
    }

    /// <summary>From (0,0) to (1,1): one point per distinct score, highest first, ties taken together.</summary>
    public static IReadOnlyList<RocPoint> Roc(IReadOnlyList<CalibrationCase> cases)
    {
        var p = cases.Count(c => c.Positive);
        var n = cases.Count - p;
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        if (p == 0 || n == 0)
        {
            return points;
        }

        var tp = 0;
        var fp = 0;
        foreach (var group in cases.GroupBy(c => c.Score).OrderByDescending(g => g.Key))
        {
            tp += group.Count(c => c.Positive);
            fp += group.Count(c => !c.Positive);
            points.Add(new RocPoint(group.Key, (double)fp / n, (double)tp / p));
        }

        return points;
    }

    /// <summary>Area under the ROC curve by trapezoids (ties count half, as the Mann-Whitney statistic does).</summary>
    public static double Auc(IReadOnlyList<RocPoint> roc)
    {
        var area = 0.0;
        for (var i = 1; i < roc.Count; i++)
        {
            area += (roc[i].FalsePositiveRate - roc[i - 1].FalsePositiveRate) * (roc[i].TruePositiveRate + roc[i - 1].TruePositiveRate) / 2;
        }

        return area;
    }

    /// <summary>Wilson score interval for x successes in n: stays inside 0..1 and behaves near 100 %, unlike the Wald interval.</summary>
    public static Interval Wilson(int successes, int trials, double z)
    {
        if (trials == 0)
        {
            return new Interval(0, 1);
        }

        var phat = (double)successes / trials;
        var z2 = z * z;
        var centre = (phat + (z2 / (2 * trials))) / (1 + (z2 / trials));
        var half = z / (1 + (z2 / trials)) * Math.Sqrt((phat * (1 - phat) / trials) + (z2 / (4.0 * trials * trials)));
        return new Interval(Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>Standard normal quantile (Acklam's rational approximation, |error| below 1.2e-9): 0.975 gives 1.95996.</summary>
    public static double NormalQuantile(double p)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(p, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(p, 1);
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return Horner(c, q) / ((Horner(d, q) * q) + 1);
        }

        if (p > 1 - low)
        {
            return -NormalQuantile(1 - p);
        }

        var r = p - 0.5;
        var s = r * r;
        return Horner(a, s) * r / ((Horner(b, s) * s) + 1);
    }

    private static double Horner(double[] coefficients, double x)
    {
        var value = 0.0;
        foreach (var coefficient in coefficients)
        {
            value = (value * x) + coefficient;
        }

        return value;
    }
}

/// <summary>
/// A threshold applied at run time, in force for the model it was calibrated for (<see cref="ModelSha256"/>): from the
/// site's calibration on the page (origin <see cref="SiteOrigin"/>) or the programme's command (origin
/// <see cref="ProgrammeOrigin"/>). <see cref="Detail"/> says why: the calibration summary, or the command id.
/// </summary>
public sealed record ThresholdOverride(double Threshold, string ModelSha256, DateTimeOffset AppliedAt, string AppliedBy, string Origin, string Detail)
{
    public const string SiteOrigin = "site";

    public const string ProgrammeOrigin = "programme";
}

/// <summary>
/// The one door for changing the threshold at run time. The decide stage reads the same value for every image;
/// applying is audited and persisted in the record first, so it survives a restart.
/// </summary>
public interface IThresholdOverrides
{
    /// <summary>The override in force for the model in force, or null.</summary>
    ThresholdOverride? Current { get; }

    /// <param name="origin">Where the change came from: <see cref="ThresholdOverride.SiteOrigin"/> or <see cref="ThresholdOverride.ProgrammeOrigin"/>.</param>
    /// <param name="detail">Why, in words (the calibration summary, the command id); never patient data.</param>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is not a probability strictly between 0 and 1.</exception>
    ValueTask<ThresholdOverride> ApplyAsync(double threshold, string appliedBy, string origin, string detail, CancellationToken cancellationToken);
}
