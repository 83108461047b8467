namespace Edge.Domain;

/// <summary>Refer / no-refer: a pure function of the score and the thresholds in force.</summary>
public static class ThresholdPolicy
{
    /// <summary>
    /// A score at or above the threshold refers: ties go to referral because a missed TB case costs more than an extra sputum test.
    /// A site's calibrated threshold, when configured, wins over the bundle's.
    /// </summary>
    public static Decision Decide(double probability, double bundleThreshold, double? siteThreshold)
    {
        var (threshold, source) = siteThreshold is { } site ? (site, ThresholdSource.Site) : (bundleThreshold, ThresholdSource.Bundle);
        return new Decision(probability >= threshold ? Referral.Refer : Referral.NoRefer, threshold, source);
    }
}
