using Edge.Domain;

namespace Edge.Storage;

/// <summary>
/// Threshold overrides kept in the record: the newest is in force, read once at start and then from memory by the decide
/// stage. Applying writes the record (with its audit line) before the new value is used, so a crash cannot leave a
/// threshold in use that the record does not show.
/// </summary>
public sealed class RecordedThresholdOverrides(ScreeningStore store, TimeProvider clock) : IThresholdOverrides
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ThresholdOverride? _current = store.CurrentThresholdOverride();

    public ThresholdOverride? Current => Volatile.Read(ref _current);

    /// <exception cref="ArgumentOutOfRangeException">The threshold is not a probability strictly between 0 and 1.</exception>
    public async ValueTask<ThresholdOverride> ApplyAsync(double threshold, string appliedBy, string origin, string detail, CancellationToken cancellationToken)
    {
        if (!(threshold is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A threshold is a TB probability strictly between 0 and 1.");
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var applied = new ThresholdOverride(threshold, clock.GetUtcNow(), appliedBy, origin, detail);
            store.AppendThresholdOverride(applied);
            Volatile.Write(ref _current, applied);
            return applied;
        }
        finally
        {
            _gate.Release();
        }
    }
}
