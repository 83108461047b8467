using System.Globalization;

namespace Edge.Collector;

public enum Period
{
    Day,
    Week,
    Month,
}

/// <summary>One age band and sex of a site's period (<c>unknown</c> where the image header did not say).</summary>
public sealed record IndicatorCell(string AgeBand, string Sex, long Results, long Screened, long Presumptive, long Rejected, long Errors);

/// <summary>
/// The WHO screening indicators of one site and period: results received, screened (a decision was made), presumptive
/// TB (referred), rejected by the quality checks, errors; % refer of screened and % rejected of all results.
/// </summary>
public sealed record IndicatorRow(
    string Site,
    string Period,
    string Start,
    string End,
    long Results,
    long Screened,
    long Presumptive,
    long Rejected,
    long Errors,
    double? ReferPercent,
    double? RejectedPercent,
    IReadOnlyList<IndicatorCell> ByAgeSex);

public sealed record ThresholdChange(string Site, string Device, DateTimeOffset At, double? From, double To, string? ModelVersion);

/// <summary>Pure computations over stored counts: periods, indicators, threshold changes. Tested with tables.</summary>
public static class Indicators
{
    public const string Unknown = "unknown";

    /// <summary>The indicators an export can map: counts, never percentages (DHIS2 computes those itself).</summary>
    public static readonly string[] Names = ["results", "screened", "presumptive", "rejected", "errors"];

    public static bool TryParsePeriod(string? text, out Period period)
    {
        period = text switch { null or "" or "month" => Period.Month, "week" => Period.Week, "day" => Period.Day, _ => (Period)(-1) };
        return Enum.IsDefined(period);
    }

    /// <summary>The period a day falls in, with its first and last day: <c>2026-12-07</c>, ISO week <c>2026-W50</c>, <c>2026-12</c>.</summary>
    public static (string Key, DateOnly Start, DateOnly End) PeriodOf(DateOnly day, Period period)
    {
        switch (period)
        {
            case Period.Day:
                return (day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), day, day);
            case Period.Week:
                var dateTime = day.ToDateTime(TimeOnly.MinValue);
                var monday = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
                return ($"{ISOWeek.GetYear(dateTime):0000}-W{ISOWeek.GetWeekOfYear(dateTime):00}", monday, monday.AddDays(6));
            default:
                var first = new DateOnly(day.Year, day.Month, 1);
                return (first.ToString("yyyy-MM", CultureInfo.InvariantCulture), first, first.AddMonths(1).AddDays(-1));
        }
    }

    /// <summary>Folds daily counts into one row per site and period, newest period first, with the age-band x sex cells.</summary>
    public static IReadOnlyList<IndicatorRow> Compute(IEnumerable<DailyCount> counts, Period period)
    {
        var rows = new List<IndicatorRow>();
        foreach (var group in counts.GroupBy(c => (c.Site, Period: PeriodOf(DateOnly.ParseExact(c.Day, "yyyy-MM-dd", CultureInfo.InvariantCulture), period))))
        {
            var cells = group
                .GroupBy(c => (AgeBand: c.AgeBand ?? Unknown, Sex: c.Sex ?? Unknown))
                .Select(g => Cell(g.Key.AgeBand, g.Key.Sex, g))
                .OrderBy(c => AgeOrder(c.AgeBand)).ThenBy(c => c.Sex, StringComparer.Ordinal)
                .ToList();
            var total = Cell("all", "all", group);
            rows.Add(new IndicatorRow(
                group.Key.Site,
                group.Key.Period.Key,
                group.Key.Period.Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                group.Key.Period.End.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                total.Results,
                total.Screened,
                total.Presumptive,
                total.Rejected,
                total.Errors,
                Percent(total.Presumptive, total.Screened),
                Percent(total.Rejected, total.Results),
                cells));
        }

        return [.. rows.OrderByDescending(r => r.Start, StringComparer.Ordinal).ThenBy(r => r.Site, StringComparer.Ordinal)];
    }

    /// <summary>The value of a named indicator (<see cref="Names"/>) in a row or cell.</summary>
    public static long Value(string indicator, long results, long screened, long presumptive, long rejected, long errors) => indicator switch
    {
        "results" => results,
        "screened" => screened,
        "presumptive" => presumptive,
        "rejected" => rejected,
        "errors" => errors,
        _ => throw new ArgumentOutOfRangeException(nameof(indicator), indicator, "not an indicator"),
    };

    /// <summary>
    /// Each time a device's threshold differs from the one it used before, in the order results were screened. Spans are
    /// per device and day, so a change back and forth within one day shows as one change; across days every one shows.
    /// </summary>
    public static IReadOnlyList<ThresholdChange> ThresholdChanges(IEnumerable<ThresholdSpan> spans)
    {
        var changes = new List<ThresholdChange>();
        foreach (var device in spans.GroupBy(s => (s.Site, s.Device)))
        {
            double? previous = null;
            foreach (var span in device.OrderBy(s => s.First))
            {
                if (previous != span.Threshold)
                {
                    changes.Add(new ThresholdChange(device.Key.Site, device.Key.Device, span.First, previous, span.Threshold, span.ModelVersion));
                    previous = span.Threshold;
                }
            }
        }

        return [.. changes.OrderByDescending(c => c.At)];
    }

    public static int AgeOrder(string band)
    {
        var index = Array.IndexOf(MessageParser.AgeBands, band);
        return index >= 0 ? index : MessageParser.AgeBands.Length;
    }

    private static IndicatorCell Cell(string ageBand, string sex, IEnumerable<DailyCount> counts)
    {
        long results = 0, screened = 0, presumptive = 0, rejected = 0, errors = 0;
        foreach (var c in counts)
        {
            results += c.Count;
            switch (c.Status)
            {
                case "screened":
                    screened += c.Count;
                    presumptive += c.Decision == "refer" ? c.Count : 0;
                    break;
                case "rejected":
                    rejected += c.Count;
                    break;
                default:
                    errors += c.Count;
                    break;
            }
        }

        return new IndicatorCell(ageBand, sex, results, screened, presumptive, rejected, errors);
    }

    private static double? Percent(long part, long whole) => whole == 0 ? null : Math.Round(100.0 * part / whole, 1);
}
