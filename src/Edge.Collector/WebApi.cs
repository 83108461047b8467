using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Edge.Collector;

/// <summary>Indicators with their period range, for the dashboard and the API.</summary>
public sealed record IndicatorsResponse(string Period, string From, string To, string? Site, IReadOnlyList<IndicatorRow> Rows);

/// <summary>The dashboard page and the read-only API behind it; every answer comes from the store at the time of asking.</summary>
public static class WebApi
{
    public static void Map(WebApplication app, ICollectorStore store, CollectorOptions options, TimeProvider clock)
    {
        var page = DashboardPage();
        app.MapGet("/", () => Results.Text(page, "text/html; charset=utf-8"));
        app.MapGet("/healthz", () => Results.Text("ok"));

        app.MapGet("/api/indicators", async (HttpContext context, CancellationToken ct) =>
        {
            if (!TryRange(context.Request.Query, clock, out var period, out var from, out var to, out var site, out var problem))
            {
                return Results.Text(problem, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }

            var rows = Indicators.Compute(await store.DailyCountsAsync(site, from, to, ct).ConfigureAwait(false), period);
            return Results.Json(new IndicatorsResponse(period.ToString().ToLowerInvariant(), Iso(from), Iso(to), site, rows), CollectorJsonContext.Default.IndicatorsResponse);
        });

        app.MapGet("/api/devices", async (CancellationToken ct) =>
        {
            var drift = (await store.RecentReportsAsync("drift", options.Drift.BaselineDays + 1, ct).ConfigureAwait(false))
                .ToLookup(r => (r.Site, r.Device), r => r.Payload);
            IReadOnlyList<DeviceHealth> devices = [.. (await store.DevicesAsync(ct).ConfigureAwait(false)).Select(d => DeviceHealth.From(d, [.. drift[(d.Site, d.Device)]], options.Drift))];
            return Results.Json(devices, CollectorJsonContext.Default.IReadOnlyListDeviceHealth);
        });

        app.MapGet("/api/thresholds", async (HttpContext context, CancellationToken ct) =>
        {
            var site = Nullable(context.Request.Query["site"]);
            return Results.Json(Indicators.ThresholdChanges(await store.ThresholdSpansAsync(site, ct).ConfigureAwait(false)), CollectorJsonContext.Default.IReadOnlyListThresholdChange);
        });

        app.MapGet("/api/totals", async (CancellationToken ct) => Results.Json(await store.TotalsAsync(ct).ConfigureAwait(false), CollectorJsonContext.Default.StoreTotals));

        app.MapGet("/api/export/csv", async (HttpContext context, CancellationToken ct) =>
        {
            if (!TryRange(context.Request.Query, clock, out var period, out var from, out var to, out var site, out var problem))
            {
                return Results.Text(problem, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }

            var rows = Indicators.Compute(await store.DailyCountsAsync(site, from, to, ct).ConfigureAwait(false), period);
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"tb-cxr-{period.ToString().ToLowerInvariant()}-{Iso(from)}-{Iso(to)}.csv\"";
            return Results.Text(Exports.Csv(rows), "text/csv; charset=utf-8");
        });

        app.MapGet("/api/export/dhis2", async (HttpContext context, CancellationToken ct) =>
        {
            if (!TryMonth(context.Request.Query["month"], out var month, out var first, out var last))
            {
                return Results.Text("month must be yyyy-MM or yyyyMM.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }

            var rows = Indicators.Compute(await store.DailyCountsAsync(Nullable(context.Request.Query["site"]), first, last, ct).ConfigureAwait(false), Period.Month);
            var (payload, problems) = Exports.Dhis2(rows, month, options.Dhis2, DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime));
            return payload is null
                ? Results.Json(new ExportProblems(problems), CollectorJsonContext.Default.ExportProblems, statusCode: StatusCodes.Status422UnprocessableEntity)
                : Results.Json(payload, CollectorJsonContext.Default.Dhis2DataValueSet);
        });

        app.MapGet("/api/export/fhir", async (HttpContext context, CancellationToken ct) =>
        {
            var site = Nullable(context.Request.Query["site"]);
            if (site is null || !TryMonth(context.Request.Query["month"], out var month, out var first, out var last))
            {
                return Results.Text("site and month (yyyy-MM) are required.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
            }

            var rows = Indicators.Compute(await store.DailyCountsAsync(site, first, last, ct).ConfigureAwait(false), Period.Month);
            var row = rows.FirstOrDefault() ?? new IndicatorRow(site, month, Iso(first), Iso(last), 0, 0, 0, 0, 0, null, null, []);
            return Results.Json(Exports.MeasureReport(row, options.Fhir.MeasureUrl, clock.GetUtcNow()), CollectorJsonContext.Default.FhirMeasureReport, contentType: "application/fhir+json");
        });
    }

    /// <summary>period (day|week|month, default month), from and to (yyyy-MM-dd, default the last year), site (default all).</summary>
    public static bool TryRange(IQueryCollection query, TimeProvider clock, out Period period, out DateOnly from, out DateOnly to, out string? site, out string problem)
    {
        site = Nullable(query["site"]);
        from = to = default;
        problem = "";
        if (!Indicators.TryParsePeriod(Nullable(query["period"]), out period))
        {
            problem = "period must be day, week or month.";
            return false;
        }

        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (!TryDay(query["to"], today, out to) || !TryDay(query["from"], period == Period.Day ? to.AddDays(-30) : to.AddYears(-1).AddDays(1), out from) || from > to)
        {
            problem = "from and to must be dates (yyyy-MM-dd), from not after to.";
            return false;
        }

        return true;
    }

    private static bool TryMonth(string? text, out string month, out DateOnly first, out DateOnly last)
    {
        month = "";
        first = last = default;
        if (text is null || !DateOnly.TryParseExact(text, ["yyyy-MM", "yyyyMM"], CultureInfo.InvariantCulture, DateTimeStyles.None, out first))
        {
            return false;
        }

        month = first.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        last = first.AddMonths(1).AddDays(-1);
        return true;
    }

    private static bool TryDay(string? text, DateOnly fallback, out DateOnly day)
    {
        day = fallback;
        return string.IsNullOrEmpty(text) || DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    private static string? Nullable(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string DashboardPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard.html") ?? throw new CollectorException("The dashboard page is missing from the build.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
