using Edge.Domain;

namespace Edge.Appliance;

/// <summary>
/// The clock and lock around <see cref="CtSeriesAssembly"/>: the series stage adds slices from the pipeline, the intake
/// loop takes the series that have gone quiet. Holds record ids and spool paths only, never pixels, so a 500-slice
/// series costs kilobytes.
/// </summary>
public sealed class CtSeriesAssembler(TimeSpan quietPeriod, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private readonly CtSeriesAssembly _assembly = new();
    private volatile bool _accepting;

    public TimeSpan QuietPeriod => quietPeriod;

    /// <summary>
    /// Whether slices are held for their series. Only <c>run</c>, which keeps taking series until it stops, turns this on;
    /// <c>screen</c> judges each file on its own.
    /// </summary>
    public bool Accepting
    {
        get => _accepting;
        set => _accepting = value;
    }

    public int PendingImages
    {
        get
        {
            lock (_lock)
            {
                return _assembly.PendingImages;
            }
        }
    }

    /// <summary>How long until the next open series is due; null when none is open.</summary>
    public TimeSpan? UntilNextDue
    {
        get
        {
            lock (_lock)
            {
                return _assembly.NextDue(quietPeriod) is { } due ? Max(due - clock.GetUtcNow(), TimeSpan.Zero) : null;
            }
        }
    }

    public void Hold(string seriesInstanceUid, ReceivedImage image)
    {
        lock (_lock)
        {
            _assembly.Add(seriesInstanceUid, image, clock.GetUtcNow());
        }
    }

    public IReadOnlyList<CtSeries> TakeDue()
    {
        lock (_lock)
        {
            return _assembly.TakeDue(clock.GetUtcNow(), quietPeriod);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>
/// Sends CT slices to series assembly instead of the chest X-ray model, and judges an assembled series: with no CT model
/// installed, one visible "not screened: no CT model" for the whole series.
/// </summary>
public sealed class CtSeriesStage(CtSeriesAssembler assembler) : IStage
{
    public string Name => "series";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        if (item.Series is { } series)
        {
            return ValueTask.FromResult(item.Reject(QcReport.Of([series.NoModelFinding()])));
        }

        if (assembler.Accepting && item.Image is { } image && CtSeries.IsSlice(image.Header))
        {
            // A slice without a series UID is a series of its own, keyed by its record id.
            assembler.Hold(image.Header.SeriesInstanceUid ?? "image:" + item.Received.Id, item.Received);
            return ValueTask.FromResult(item with { HeldForSeries = true, Image = null });
        }

        return ValueTask.FromResult(item);
    }
}
