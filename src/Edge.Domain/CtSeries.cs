namespace Edge.Domain;

/// <summary>The images of one CT series, assembled after the console went quiet, judged and recorded as one.</summary>
public sealed record CtSeries(string SeriesInstanceUid, IReadOnlyList<ReceivedImage> Images)
{
    /// <summary>A CT image that is a slice of a volume (a scout / localizer is a projection and is screened like a radiograph).</summary>
    public static bool IsSlice(ImageHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        return string.Equals(header.Modality?.Trim(), "CT", StringComparison.OrdinalIgnoreCase)
            && !header.ImageType.Any(t => string.Equals(t, "LOCALIZER", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The one finding a series gets while no CT model is installed: visible on the page, slip, record and audit.</summary>
    public QcFinding NoModelFinding() =>
        new("ct-no-model", QcVerdict.Reject, $"CT series of {Images.Count} image{(Images.Count == 1 ? "" : "s")}: not screened: no CT model installed.");
}

/// <summary>
/// Groups CT slices by Series Instance UID until the series has been quiet for the quiet period: consoles send a series
/// as a burst of C-STOREs, and nothing says when it is complete. Pure: the caller says what time it is.
/// </summary>
public sealed class CtSeriesAssembly
{
    private readonly Dictionary<string, OpenSeries> _open = new(StringComparer.Ordinal);

    public int PendingImages => _open.Values.Sum(s => s.Images.Count);

    /// <summary>Adds a slice; the same image twice (a restart re-reading the spool) counts once.</summary>
    public void Add(string seriesInstanceUid, ReceivedImage image, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrEmpty(seriesInstanceUid);
        ArgumentNullException.ThrowIfNull(image);
        if (!_open.TryGetValue(seriesInstanceUid, out var series))
        {
            series = new OpenSeries();
            _open.Add(seriesInstanceUid, series);
        }

        if (series.Images.TrueForAll(i => i.Id != image.Id))
        {
            series.Images.Add(image);
        }

        series.LastArrival = at > series.LastArrival ? at : series.LastArrival;
    }

    /// <summary>Removes and returns every series whose last slice arrived at least <paramref name="quietPeriod"/> before <paramref name="now"/>, oldest first.</summary>
    public IReadOnlyList<CtSeries> TakeDue(DateTimeOffset now, TimeSpan quietPeriod)
    {
        var due = _open.Where(s => now - s.Value.LastArrival >= quietPeriod).OrderBy(s => s.Value.LastArrival).ToList();
        foreach (var (uid, _) in due)
        {
            _open.Remove(uid);
        }

        return [.. due.Select(s => new CtSeries(s.Key, [.. s.Value.Images.OrderBy(i => i.Id, StringComparer.Ordinal)]))];
    }

    /// <summary>When the next open series becomes due, or null when none is open.</summary>
    public DateTimeOffset? NextDue(TimeSpan quietPeriod) => _open.Count == 0 ? null : _open.Values.Min(s => s.LastArrival) + quietPeriod;

    private sealed class OpenSeries
    {
        public List<ReceivedImage> Images { get; } = [];

        public DateTimeOffset LastArrival { get; set; } = DateTimeOffset.MinValue;
    }
}
