using Edge.Domain;
using Edge.Storage;

namespace Edge.Appliance;

/// <summary>
/// The page's door to the threshold (<see cref="IThresholdOverrides"/>) over the one in-memory authority,
/// <see cref="ThresholdInForce"/>. Applying writes the record first (the override bound to the model in force, its
/// <c>threshold-changed</c> audit line and the province's notice, in one transaction), then puts it in force, so a
/// crash cannot leave a threshold in use that the record does not show.
/// </summary>
public sealed class RecordedThresholdOverrides(ScreeningStore store, ThresholdInForce inForce, TimeProvider clock, Func<ThresholdOverride, Decision, string, OutboxMessage>? notice = null) : IThresholdOverrides
{
    public ThresholdOverride? Current => inForce.Override;

    public ThresholdInForce InForce => inForce;

    public ValueTask<ThresholdOverride> ApplyAsync(double threshold, string appliedBy, string origin, string detail, CancellationToken cancellationToken)
    {
        if (!(threshold is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A threshold is a TB probability strictly between 0 and 1.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var applied = new ThresholdOverride(threshold, inForce.Model.Sha256, clock.GetUtcNow(), appliedBy, origin, detail);
        var decision = ThresholdPolicy.Decide(0, inForce.BundleThreshold, applied.Threshold);
        var auditDetail = ThresholdInForce.AuditDetail(decision, inForce.Model, applied);
        IReadOnlyList<OutboxMessage> messages = notice is null ? [] : [notice(applied, decision, auditDetail)];
        inForce.Change(
            () =>
            {
                store.RecordThresholdChange(new ThresholdChange.Set(applied, auditDetail), messages);
                return true;
            },
            applied);
        return ValueTask.FromResult(applied);
    }
}
