using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>Counts of one day, in total or for one age band and sex.</summary>
public sealed record StatsCell(string? AgeBand, string? Sex, long Screened, long Refer, long Rejected, long Error);

/// <summary><c>.../stats</c>: one site-local day's screening counts by age band and sex, read from the record.</summary>
public sealed record StatsMessage(
    string Id,
    string Site,
    string Device,
    string Date,
    string TimeZone,
    DateTimeOffset From,
    DateTimeOffset To,
    bool Complete,
    DateTimeOffset GeneratedAt,
    StatsCell Totals,
    IReadOnlyList<StatsCell> Cells);

/// <summary>10th, 50th and 90th percentiles.</summary>
public sealed record Spread(double P10, double P50, double P90);

public sealed record CodeCount(string Code, int Count);

public sealed record ScannerCount(string? Manufacturer, string? Model, int Count);

/// <summary>Scores (0-100) of the day's screened images: quantiles, a 10-bin histogram (0-10, ..., 90-100) and the refer rate.</summary>
public sealed record DriftScores(int Count, double Mean, double P10, double P25, double P50, double P75, double P90, IReadOnlyList<int> Histogram, double ReferRate);

/// <summary>What came in: sizes, intensities (mean and spread, as a fraction of full scale), spacing, formats, bit depths.</summary>
public sealed record DriftInputs(Spread Width, Spread Height, Spread IntensityMean, Spread IntensityStd, Spread? PixelSpacingMm, IReadOnlyList<CodeCount> Formats, IReadOnlyList<CodeCount> BitsStored);

/// <summary>
/// <c>.../drift</c>: one site-local day's input and score distributions for this device, so the programme sees a new
/// scanner, a changed protocol or a drifting model. Sizes, intensities and scanner make and model only: nothing of a patient.
/// </summary>
public sealed record DriftMessage(
    string Id,
    string Site,
    string Device,
    string Date,
    string TimeZone,
    DateTimeOffset From,
    DateTimeOffset To,
    bool Complete,
    DateTimeOffset GeneratedAt,
    ModelRef Model,
    int Images,
    DriftScores? Scores,
    DriftInputs? Inputs,
    IReadOnlyList<ScannerCount> Scanners,
    IReadOnlyList<CodeCount> QcCodes);

/// <summary>An image's intake features for the drift summary: computed once, at record time.</summary>
public static class DriftFeatures
{
    /// <summary>Longest scanner make or model kept: enough for any real one, too short to carry a note.</summary>
    public const int MaxNameLength = 64;

    public static DriftSample Of(string resultId, DecodedImage image)
    {
        var pixels = image.Pixels.Pixels;

        // A strided sample bounds the cost on 4k x 4k images; the mean and spread of 65k pixels are plenty for a trend.
        var stride = Math.Max(1, pixels.Length / 65536);
        double sum = 0, sumSquares = 0;
        var n = 0;
        for (var i = 0; i < pixels.Length; i += stride, n++)
        {
            sum += pixels[i];
            sumSquares += (double)pixels[i] * pixels[i];
        }

        var header = image.Header;
        var fullScale = Math.Pow(2, Math.Clamp(header.BitsStored, 1, 32)) - 1;
        var mean = sum / n;
        var std = Math.Sqrt(Math.Max(0, (sumSquares / n) - (mean * mean)));
        return new DriftSample(
            resultId,
            header.Format.ToString().ToLowerInvariant(),
            image.Pixels.Width,
            image.Pixels.Height,
            header.BitsStored,
            Math.Round(mean / fullScale, 6),
            Math.Round(std / fullScale, 6),
            header.PixelSpacingMm?.Row,
            Clean(header.Manufacturer),
            Clean(header.ManufacturerModelName));
    }

    private static string? Clean(string? name)
    {
        var trimmed = name?.Trim(' ', '\0');
        if (string.IsNullOrEmpty(trimmed))
        {
            return null;
        }

        var printable = new string([.. trimmed.Where(c => !char.IsControl(c))]);
        return printable.Length > MaxNameLength ? printable[..MaxNameLength] : printable;
    }
}

/// <summary>Builds the daily statistics and drift messages from the record, for the schedule and for commands.</summary>
public sealed class SyncSummaries(ScreeningStore store, string topicRoot, string site, string device, TimeZoneInfo zone, ModelIdentity model)
{
    public string ResultTopic => $"{topicRoot}/{site}/{device}/result";

    public string StatsTopic => $"{topicRoot}/{site}/{device}/stats";

    public string DriftTopic => $"{topicRoot}/{site}/{device}/drift";

    public TimeZoneInfo Zone => zone;

    /// <summary>The site-local date of an instant.</summary>
    public DateOnly DateOf(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);

    /// <summary>A site-local day as [from, to) instants.</summary>
    public (DateTimeOffset From, DateTimeOffset To) Window(DateOnly date) => (StartOf(date), StartOf(date.AddDays(1)));

    /// <summary>Local midnight; in the rare zone whose clocks jump over midnight, the first instant of the day.</summary>
    public DateTimeOffset StartOf(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15);
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }

    public OutboxMessage Stats(DateOnly date, DateTimeOffset now, string messageId)
    {
        var (from, to) = Window(date);
        var counts = store.CountResultsByGroup(ResultTopic, from, to);
        var cells = counts
            .GroupBy(c => (c.AgeBand, c.Sex))
            .Select(g => Cell(g.Key.AgeBand, g.Key.Sex, g))
            .ToList();
        var message = new StatsMessage(
            $"{site}/{device}/stats/{Iso(date)}",
            site,
            device,
            Iso(date),
            zone.Id,
            from,
            to,
            Complete: now >= to,
            now,
            Cell(null, null, counts),
            cells);
        return new OutboxMessage(messageId, StatsTopic, JsonSerializer.Serialize(message, SyncMessagesJsonContext.Default.StatsMessage));
    }

    public OutboxMessage Drift(DateOnly date, DateTimeOffset now, string messageId)
    {
        var (from, to) = Window(date);
        var observations = store.DriftObservations(from, to);
        var scores = observations.Where(o => o.Status == nameof(ScreeningStatus.Screened) && o.Probability is not null).ToList();
        var message = new DriftMessage(
            $"{site}/{device}/drift/{Iso(date)}",
            site,
            device,
            Iso(date),
            zone.Id,
            from,
            to,
            Complete: now >= to,
            now,
            new ModelRef(model.Name, model.Version, model.Sha256),
            observations.Count,
            scores.Count == 0 ? null : Scores([.. scores.Select(o => o.Probability!.Value * 100)], scores.Count(o => o.Referral == nameof(Referral.Refer))),
            observations.Count == 0 ? null : Inputs([.. observations.Select(o => o.Sample)]),
            [.. observations.GroupBy(o => (o.Sample.Manufacturer, o.Sample.ManufacturerModel)).Select(g => new ScannerCount(g.Key.Manufacturer, g.Key.ManufacturerModel, g.Count())).OrderByDescending(s => s.Count)],
            Counts(observations.SelectMany(o => o.QcCodes)));
        return new OutboxMessage(messageId, DriftTopic, JsonSerializer.Serialize(message, SyncMessagesJsonContext.Default.DriftMessage));
    }

    /// <summary>Linear interpolation between closest ranks, on sorted values.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        var rank = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return Math.Round(sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo)), 6);
    }

    private static DriftScores Scores(List<double> scores, int referred)
    {
        scores.Sort();
        var histogram = new int[10];
        foreach (var score in scores)
        {
            histogram[Math.Clamp((int)(score / 10), 0, 9)]++;
        }

        return new DriftScores(scores.Count, Math.Round(scores.Average(), 6), Quantile(scores, 0.1), Quantile(scores, 0.25), Quantile(scores, 0.5), Quantile(scores, 0.75), Quantile(scores, 0.9), histogram, Math.Round((double)referred / scores.Count, 6));
    }

    private static DriftInputs Inputs(List<DriftSample> samples)
    {
        var spacings = samples.Where(s => s.PixelSpacingMm is not null).Select(s => s.PixelSpacingMm!.Value).ToList();
        return new DriftInputs(
            SpreadOf(samples.Select(s => (double)s.Width)),
            SpreadOf(samples.Select(s => (double)s.Height)),
            SpreadOf(samples.Select(s => s.IntensityMean)),
            SpreadOf(samples.Select(s => s.IntensityStd)),
            spacings.Count == 0 ? null : SpreadOf(spacings),
            Counts(samples.Select(s => s.Format)),
            Counts(samples.Select(s => s.BitsStored.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static Spread SpreadOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return new Spread(Quantile(sorted, 0.1), Quantile(sorted, 0.5), Quantile(sorted, 0.9));
    }

    private static List<CodeCount> Counts(IEnumerable<string> codes) =>
        [.. codes.GroupBy(c => c).Select(g => new CodeCount(g.Key, g.Count())).OrderByDescending(c => c.Count).ThenBy(c => c.Code, StringComparer.Ordinal)];

    private static StatsCell Cell(string? ageBand, string? sex, IEnumerable<ResultCount> counts)
    {
        long screened = 0, refer = 0, rejected = 0, error = 0;
        foreach (var c in counts)
        {
            switch (c.Status)
            {
                case "screened":
                    screened += c.Count;
                    refer += c.Decision == "refer" ? c.Count : 0;
                    break;
                case "rejected":
                    rejected += c.Count;
                    break;
                default:
                    error += c.Count;
                    break;
            }
        }

        return new StatsCell(ageBand, sex, screened, refer, rejected, error);
    }

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Once a day, after the site's midnight, queues the finished day's statistics and drift summary; on start it catches up
/// on the last week's days that had results (a device off at midnight). Each day's messages are queued once: their
/// message ids are the day's, and the outbox keeps an id once.
/// </summary>
public sealed partial class SummarySchedule(SyncSummaries summaries, ScreeningStore store, TimeSpan checkInterval, Action wake, ILogger logger, TimeProvider clock)
{
    private const int CatchUpDays = 7;

    public static string StatsMessageId(DateOnly date) => "stats/" + date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public static string DriftMessageId(DateOnly date) => "drift/" + date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (QueueDue(clock.GetUtcNow()) > 0)
                {
                    wake();
                }
            }
            catch (StorageException ex)
            {
                LogQueueFailed(logger, ex.Message);
            }

            try
            {
                await Task.Delay(checkInterval, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Queues what is due now; returns how many messages were queued. Yesterday is sent even with no result (zero
    /// reporting) once the device is in service, i.e. has screened before today; a device installed today has no yesterday.
    /// </summary>
    public int QueueDue(DateTimeOffset now)
    {
        var today = summaries.DateOf(now);
        var inService = store.HasResultsBetween(DateTimeOffset.MinValue, summaries.StartOf(today));
        var queued = 0;
        for (var date = today.AddDays(-CatchUpDays); date < today; date = date.AddDays(1))
        {
            if (store.HasOutboxMessage(StatsMessageId(date)))
            {
                continue;
            }

            var (from, to) = summaries.Window(date);
            if (!(date == today.AddDays(-1) && inService) && !store.HasResultsBetween(from, to))
            {
                continue;
            }

            store.EnqueueOutbox(summaries.Drift(date, now, DriftMessageId(date)), now);
            store.EnqueueOutbox(summaries.Stats(date, now, StatsMessageId(date)), now);
            queued += 2;
            LogQueued(logger, date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        }

        return queued;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Daily statistics and drift summary for {Date} queued for the programme")]
    private static partial void LogQueued(ILogger logger, string date);

    [LoggerMessage(Level = LogLevel.Error, Message = "Daily statistics could not be queued, will retry: {Reason}")]
    private static partial void LogQueueFailed(ILogger logger, string reason);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StatsMessage))]
[JsonSerializable(typeof(DriftMessage))]
[JsonSerializable(typeof(CommandRequest))]
[JsonSerializable(typeof(CommandReply))]
internal sealed partial class SyncMessagesJsonContext : JsonSerializerContext;
