using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Edge.Domain;
using Edge.Imaging;
using Edge.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Edge.Web;

/// <summary>
/// The technician's page, served by the appliance: worklist with live updates, a result with its heatmap, device status
/// and site calibration. Minimal APIs on the slim host, JSON by source generation, every asset embedded in the binary.
/// The record is read directly; everything else goes through <see cref="WebPorts"/>.
/// </summary>
public sealed partial class WebPage : IAsyncDisposable
{
    private const string SessionCookie = "edge-session";
    private const string LanguageCookie = "edge-lang";
    private const int DisplayMaxSide = 1024;

    private readonly WebApplication _app;
    private readonly WebPageOptions _options;
    private readonly ScreeningStore _store;
    private readonly WebPorts _ports;
    private readonly ILogger _logger;
    private readonly Sessions _sessions;
    private readonly LoginThrottle _throttle;
    private readonly DisplayCache _displays = new(4);
    private readonly CancellationTokenSource _stopping = new();

    private WebPage(WebApplication app, WebPageOptions options, ScreeningStore store, WebPorts ports, ILogger logger)
    {
        _app = app;
        _options = options;
        _store = store;
        _ports = ports;
        _logger = logger;
        _sessions = new Sessions(options.SessionIdleTimeout, ports.Clock);
        _throttle = new LoginThrottle(options.MaxLoginAttempts, options.LoginLockout, ports.Clock);
    }

    /// <summary>The addresses actually bound (port 0 resolved), for the log line and the demo.</summary>
    public IReadOnlyList<string> Urls { get; private set; } = [];

    /// <exception cref="WebPageException">The options are invalid or the address cannot be bound.</exception>
    public static async Task<WebPage> StartAsync(WebPageOptions options, ScreeningStore store, WebPorts ports, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(loggers);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new WebPageException(string.Join(Environment.NewLine, problems));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        // The host's own logs go to the appliance's loggers, warnings and up only: a line per request would drown the
        // screening log, and nothing of the host's should ever carry what a page shows.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        var app = builder.Build();
        var page = new WebPage(app, options, store, ports, loggers.CreateLogger("Edge.Web"));
        page.Map();
        ports.Console.Changed += page.OnConsoleChanged;
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            ports.Console.Changed -= page.OnConsoleChanged;
            await app.DisposeAsync().ConfigureAwait(false);
            throw new WebPageException($"The page cannot listen on {string.Join(", ", options.Urls)}: {ex.Message}", ex);
        }

        page.Urls = [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];
        LogListening(page._logger, string.Join(", ", page.Urls), options.RequiresLogin);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        _ports.Console.Changed -= OnConsoleChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void OnConsoleChanged() => _ports.Updates.Publish(new LiveEvent("lights"));

    private void Map()
    {
        _app.Use(RequireSessionAsync);
        _app.MapGet("/", (RequestDelegate)IndexAsync);
        _app.MapGet("/login", (RequestDelegate)LoginPageAsync);
        _app.MapGet("/app.js", (RequestDelegate)(ctx => AssetAsync(ctx, "app.js", "text/javascript; charset=utf-8")));
        _app.MapGet("/app.css", (RequestDelegate)(ctx => AssetAsync(ctx, "app.css", "text/css; charset=utf-8")));
        _app.MapGet("/api/strings", (RequestDelegate)StringsAsync);
        _app.MapPost("/api/login", (RequestDelegate)LoginAsync);
        _app.MapPost("/api/logout", (RequestDelegate)LogoutAsync);
        _app.MapGet("/api/worklist", (RequestDelegate)WorklistAsync);
        _app.MapGet("/api/events", (RequestDelegate)EventsAsync);
        _app.MapGet("/api/results/{id}", (RequestDelegate)ResultAsync);
        _app.MapGet("/api/results/{id}/image.png", (RequestDelegate)ImageAsync);
        _app.MapGet("/api/results/{id}/overlay.png", (RequestDelegate)OverlayAsync);
        _app.MapGet("/api/results/{id}/slip.png", (RequestDelegate)SlipAsync);
        _app.MapPost("/api/results/{id}/reprint", (RequestDelegate)ReprintAsync);
        _app.MapPost("/api/results/{id}/acknowledge", (RequestDelegate)AcknowledgeAsync);
        _app.MapPost("/api/results/{id}/outcome", (RequestDelegate)OutcomeAsync);
        _app.MapGet("/api/status", (RequestDelegate)StatusAsync);
        _app.MapGet("/api/calibration", (RequestDelegate)CalibrationAsync);
        _app.MapPost("/api/calibration/apply", (RequestDelegate)ApplyThresholdAsync);
    }

    // ---- login -------------------------------------------------------------------------------------------------------

    private async Task RequireSessionAsync(HttpContext ctx, RequestDelegate next)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var open = path is "/login" or "/api/login" or "/app.css" or "/app.js" or "/api/strings";
        if (!_options.RequiresLogin || open || _sessions.Touch(ctx.Request.Cookies[SessionCookie]))
        {
            await next(ctx).ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await ctx.Response.WriteAsJsonAsync(new Problem("login required"), WebJsonContext.Default.Problem, contentType: null, ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        ctx.Response.Redirect("/login");
    }

    private async Task LoginAsync(HttpContext ctx)
    {
        var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (_throttle.LockedUntil(address) is not null)
        {
            await ProblemAsync(ctx, StatusCodes.Status429TooManyRequests, "too many attempts", "login.locked").ConfigureAwait(false);
            return;
        }

        var request = await ReadAsync(ctx, WebJsonContext.Default.LoginRequest).ConfigureAwait(false);
        if (request?.Pin is { Length: > 0 } pin && PinHash.Verify(pin, _options.PinHash))
        {
            _throttle.Succeeded(address);
            ctx.Response.Cookies.Append(SessionCookie, _sessions.Start(), new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = ctx.Request.IsHttps,
                Path = "/",
            });
            LogLoggedIn(_logger, address);
            await ctx.Response.WriteAsJsonAsync(new Done("ok"), WebJsonContext.Default.Done, contentType: null, ctx.RequestAborted).ConfigureAwait(false);
            return;
        }

        var locked = _throttle.Failed(address);
        LogLoginFailed(_logger, address, locked);
        await ProblemAsync(ctx, locked ? StatusCodes.Status429TooManyRequests : StatusCodes.Status401Unauthorized, "wrong PIN", locked ? "login.locked" : "login.wrong").ConfigureAwait(false);
    }

    private async Task LogoutAsync(HttpContext ctx)
    {
        _sessions.End(ctx.Request.Cookies[SessionCookie]);
        ctx.Response.Cookies.Delete(SessionCookie);
        await ctx.Response.WriteAsJsonAsync(new Done("ok"), WebJsonContext.Default.Done, contentType: null, ctx.RequestAborted).ConfigureAwait(false);
    }

    // ---- assets ------------------------------------------------------------------------------------------------------

    private Task IndexAsync(HttpContext ctx) => HtmlAsync(ctx, "index.html");

    private Task LoginPageAsync(HttpContext ctx) => HtmlAsync(ctx, "login.html");

    /// <summary>The page in the chosen language: <c>?lang=</c> (remembered in a cookie), else the cookie, else the site's.</summary>
    private async Task HtmlAsync(HttpContext ctx, string name)
    {
        var language = Strings.Normalise(ctx.Request.Query["lang"]);
        if (language.Length > 0)
        {
            ctx.Response.Cookies.Append(LanguageCookie, language, new CookieOptions { SameSite = SameSiteMode.Strict, Path = "/", MaxAge = TimeSpan.FromDays(365) });
        }
        else
        {
            language = Strings.Normalise(ctx.Request.Cookies[LanguageCookie]) is { Length: > 0 } remembered ? remembered : _options.Language;
        }

        var html = Asset(name)
            .Replace("{{lang}}", language, StringComparison.Ordinal)
            .Replace("{{strings}}", JsonSerializer.Serialize(Strings.For(language), WebJsonContext.Default.IReadOnlyDictionaryStringString), StringComparison.Ordinal)
            .Replace("{{login}}", _options.RequiresLogin ? "true" : "false", StringComparison.Ordinal);
        ctx.Response.ContentType = "text/html; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        ctx.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";
        await ctx.Response.WriteAsync(html, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task AssetAsync(HttpContext ctx, string name, string contentType)
    {
        ctx.Response.ContentType = contentType;
        ctx.Response.Headers.CacheControl = "no-cache";
        await ctx.Response.WriteAsync(Asset(name), ctx.RequestAborted).ConfigureAwait(false);
    }

    private async Task StringsAsync(HttpContext ctx)
    {
        var language = Strings.Normalise(ctx.Request.Query["lang"]) is { Length: > 0 } l ? l : _options.Language;
        await ctx.Response.WriteAsJsonAsync(Strings.For(language), WebJsonContext.Default.IReadOnlyDictionaryStringString, contentType: null, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static string Asset(string name)
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream("Edge.Web.Assets." + name)
            ?? throw new InvalidOperationException($"Embedded asset {name} is missing from the build.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    // ---- worklist and live updates -----------------------------------------------------------------------------------

    private async Task WorklistAsync(HttpContext ctx)
    {
        var query = ctx.Request.Query;
        var since = StartOfToday();
        var outcome = (string?)query["result"] is "refer" or "no-refer" or "not-screened" ? (string?)query["result"] : null;
        var entries = _store.Worklist(new WorklistQuery(outcome, query["unack"] == "1", query["day"] == "all" ? null : since));
        var c = _store.Counts(since);
        var page = new WorklistPage([.. entries.Select(RowOf)], new Counts(c.Total, c.Refer, c.NoRefer, c.NotScreened, c.Unacknowledged));
        await JsonAsync(ctx, page, WebJsonContext.Default.WorklistPage).ConfigureAwait(false);
    }

    /// <summary>Server-sent events: one line per change; the page refetches what it shows. Ends with the request or the host.</summary>
    private async Task EventsAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-store";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        try
        {
            await ctx.Response.WriteAsync(": connected\n\n", stop.Token).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
            await foreach (var e in _ports.Updates.ListenAsync(stop.Token).ConfigureAwait(false))
            {
                await ctx.Response.WriteAsync($"event: {e.Kind}\ndata: {e.Id ?? ""}\n\n", stop.Token).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The tablet went away or the appliance is stopping.
        }
    }

    // ---- one result --------------------------------------------------------------------------------------------------

    private async Task ResultAsync(HttpContext ctx)
    {
        if (await DetailOrNotFoundAsync(ctx).ConfigureAwait(false) is not { } detail)
        {
            return;
        }

        var entry = detail.Entry;
        var stored = ParseLine(entry.ResultJson);
        var view = new ResultView(
            RowOf(entry),
            entry.ThresholdSource?.ToLowerInvariant(),
            stored?.Qc?.Reasons ?? [],
            entry.Error,
            detail.ModelName,
            detail.ModelVersion,
            detail.ModelSha256,
            detail.Provider,
            detail.Heatmap is { Length: > 0 },
            _ports.Slips.PreviewPng(entry.Id) is not null,
            entry.AcknowledgedAt is { } at ? Local(at) : null,
            entry.AcknowledgedAt is null && (entry.Referral == "Refer" || entry.Status != "Screened"));
        await JsonAsync(ctx, view, WebJsonContext.Default.ResultView).ConfigureAwait(false);
    }

    private async Task ImageAsync(HttpContext ctx)
    {
        if (await DetailOrNotFoundAsync(ctx).ConfigureAwait(false) is not { } detail)
        {
            return;
        }

        if (await DisplayOfAsync(detail, ctx.RequestAborted).ConfigureAwait(false) is not { } display)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await PngAsync(ctx, PngEncoder.Encode(display)).ConfigureAwait(false);
    }

    /// <summary>
    /// The heatmap fully coloured where the model looked (opacity 1) and the plain image elsewhere; the page lays it over
    /// the image with CSS opacity, which gives exactly <see cref="HeatmapOverlay"/>'s blend at the slider's value.
    /// </summary>
    private async Task OverlayAsync(HttpContext ctx)
    {
        if (await DetailOrNotFoundAsync(ctx).ConfigureAwait(false) is not { } detail)
        {
            return;
        }

        if (detail.Heatmap is not { Length: > 0 } heatmap || await DisplayOfAsync(detail, ctx.RequestAborted).ConfigureAwait(false) is not { } display)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var overlay = HeatmapOverlay.Render(display, heatmap, detail.HeatmapWidth, detail.HeatmapHeight, opacity: 1f);
        await PngAsync(ctx, PngEncoder.Encode(overlay)).ConfigureAwait(false);
    }

    private async Task SlipAsync(HttpContext ctx)
    {
        if (_ports.Slips.PreviewPng(Id(ctx)) is not { } png)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await PngAsync(ctx, png).ConfigureAwait(false);
    }

    private async Task ReprintAsync(HttpContext ctx)
    {
        if (await DetailOrNotFoundAsync(ctx).ConfigureAwait(false) is not { } detail)
        {
            return;
        }

        var outcome = await _ports.Slips.ReprintAsync(detail.Entry.Id, ctx.RequestAborted).ConfigureAwait(false);
        _store.AppendAudit("reprint-requested", detail.Entry.Id, "from the page: " + outcome.ToString().ToLowerInvariant(), _ports.Clock.GetUtcNow());
        var status = outcome == ReprintOutcome.Printed ? StatusCodes.Status200OK : StatusCodes.Status409Conflict;
        ctx.Response.StatusCode = status;
        await JsonAsync(ctx, new Done(outcome switch
        {
            ReprintOutcome.Printed => "detail.reprinted",
            ReprintOutcome.PrinterOffline => "detail.reprint.offline",
            _ => "detail.reprint.unavailable",
        }), WebJsonContext.Default.Done).ConfigureAwait(false);
    }

    /// <summary>
    /// Initials go into the record with an audit line. Acknowledging a refer (or a not-screened image) also acknowledges
    /// the console, as the button does, unless a newer refer still waits: its red light must stay until that one is seen.
    /// </summary>
    private async Task AcknowledgeAsync(HttpContext ctx)
    {
        if (await DetailOrNotFoundAsync(ctx).ConfigureAwait(false) is not { } detail)
        {
            return;
        }

        var request = await ReadAsync(ctx, WebJsonContext.Default.InitialsRequest).ConfigureAwait(false);
        if (Initials(request?.Initials) is not { } initials)
        {
            await ProblemAsync(ctx, StatusCodes.Status400BadRequest, "initials required", "error.initials").ConfigureAwait(false);
            return;
        }

        var entry = detail.Entry;
        if (!_store.Acknowledge(entry.Id, initials, _ports.Clock.GetUtcNow()))
        {
            await ProblemAsync(ctx, StatusCodes.Status409Conflict, "already acknowledged").ConfigureAwait(false);
            return;
        }

        var attention = entry.Referral == "Refer" || entry.Status != "Screened";
        if (attention && !_store.HasNewerUnacknowledgedRefer(entry.Id))
        {
            await _ports.Console.AcknowledgeAsync(ctx.RequestAborted).ConfigureAwait(false);
        }

        LogAcknowledged(_logger, entry.Id);
        _ports.Updates.Publish(new LiveEvent("result", entry.Id));
        await JsonAsync(ctx, new Done("ok"), WebJsonContext.Default.Done).ConfigureAwait(false);
    }

    private async Task OutcomeAsync(HttpContext ctx)
    {
        var request = await ReadAsync(ctx, WebJsonContext.Default.OutcomeRequest).ConfigureAwait(false);
        if (Initials(request?.Initials) is not { } initials)
        {
            await ProblemAsync(ctx, StatusCodes.Status400BadRequest, "initials required", "error.initials").ConfigureAwait(false);
            return;
        }

        if (request!.Outcome is not ("positive" or "negative") || request.Test is not ("smear" or "xpert"))
        {
            await ProblemAsync(ctx, StatusCodes.Status400BadRequest, "outcome must be positive or negative, test smear or xpert").ConfigureAwait(false);
            return;
        }

        var now = _ports.Clock.GetUtcNow();
        var outcome = new ConfirmedOutcome(Id(ctx), request.Outcome == "positive", request.Test == "xpert" ? ConfirmatoryTest.Xpert : ConfirmatoryTest.Smear, initials, now);
        if (!_store.RecordOutcome(outcome, now))
        {
            await ProblemAsync(ctx, StatusCodes.Status404NotFound, "no screened result with that id").ConfigureAwait(false);
            return;
        }

        await JsonAsync(ctx, new Done("ok"), WebJsonContext.Default.Done).ConfigureAwait(false);
    }

    // ---- device status -----------------------------------------------------------------------------------------------

    private async Task StatusAsync(HttpContext ctx)
    {
        var device = _ports.Device.Snapshot();
        var lights = _ports.Console.Lights;
        var state = _ports.Console.State;
        long? free = null;
        long? total = null;
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(device.DataPath));
            free = drive.AvailableFreeSpace / (1024 * 1024);
            total = drive.TotalSize / (1024 * 1024);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Shown as unknown.
        }

        var view = new StatusView(
            new LightsView(
                Word(lights.State.ToString()),
                Word(lights.Green.ToString()),
                Word(lights.Yellow.ToString()),
                Word(lights.Red.ToString()),
                Word(lights.Sync.ToString()),
                Word(lights.Buzzer.ToString()),
                lights.Describe(),
                [.. state.Faults],
                [.. state.Attentions]),
            device.Printer,
            state.Attentions.Contains(ConsoleConditions.PrinterOffline) || state.Attentions.Contains(ConsoleConditions.PrinterOutOfPaper),
            free,
            total,
            device.DicomPort,
            device.DicomAeTitle,
            _store.CountOutboxPending(),
            _store.LastOutboxSentAt() is { } last ? Local(last) : null,
            Word(state.Sync.ToString()),
            device.SyncTarget,
            device.ModelName,
            device.ModelVersion,
            device.Provider,
            device.Firmware,
            ThresholdInForce(device));
        await JsonAsync(ctx, view, WebJsonContext.Default.StatusView).ConfigureAwait(false);
    }

    /// <summary>The same precedence as the decide stage: an applied override, else the configured site threshold, else the bundle's.</summary>
    private ThresholdView ThresholdInForce(DeviceSnapshot device)
    {
        if (_ports.Threshold.Current is { } applied)
        {
            return new ThresholdView(applied.Threshold, "override", applied.AppliedBy, Local(applied.AppliedAt), applied.Origin);
        }

        return device.ConfiguredThreshold is { } configured
            ? new ThresholdView(configured, "configured", null, null, null)
            : new ThresholdView(device.BundleThreshold, "bundle", null, null, null);
    }

    // ---- calibration -------------------------------------------------------------------------------------------------

    private async Task CalibrationAsync(HttpContext ctx)
    {
        var report = SiteCalibration.Compute(_store.CalibrationCases(), _options.Calibration);
        await JsonAsync(ctx, ViewOf(report), WebJsonContext.Default.CalibrationView).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the threshold the server computes now, not a number the browser sends: the request names the value it
    /// showed, and is refused if the confirmed cases changed since, so nobody applies a threshold they did not see.
    /// </summary>
    private async Task ApplyThresholdAsync(HttpContext ctx)
    {
        var request = await ReadAsync(ctx, WebJsonContext.Default.ApplyThresholdRequest).ConfigureAwait(false);
        if (Initials(request?.Initials) is not { } initials)
        {
            await ProblemAsync(ctx, StatusCodes.Status400BadRequest, "initials required", "error.initials").ConfigureAwait(false);
            return;
        }

        var report = SiteCalibration.Compute(_store.CalibrationCases(), _options.Calibration);
        if (report.Refusal is { } refusal)
        {
            await ProblemAsync(ctx, StatusCodes.Status409Conflict, refusal).ConfigureAwait(false);
            return;
        }

        if (report.Threshold is not { } threshold || Math.Abs(threshold - request!.Threshold) > 1e-9)
        {
            await ProblemAsync(ctx, StatusCodes.Status409Conflict, "the confirmed cases changed: compute again before applying").ConfigureAwait(false);
            return;
        }

        var detail = string.Create(
            CultureInfo.InvariantCulture,
            $"site calibration: sensitivity {report.Sensitivity:0.000} (95% Wilson {report.SensitivityInterval?.Low:0.000}-{report.SensitivityInterval?.High:0.000}), specificity {report.Specificity:0.000}, AUC {report.Auc:0.000}, on {report.Positives} positive and {report.Negatives} negative confirmed cases, target {report.Settings.TargetSensitivity:0.00}");
        await _ports.Threshold.ApplyAsync(threshold, initials, ThresholdOverride.SiteOrigin, detail, ctx.RequestAborted).ConfigureAwait(false);
        LogThresholdApplied(_logger, threshold, report.Positives, report.Negatives);
        _ports.Updates.Publish(new LiveEvent("threshold"));
        await JsonAsync(ctx, new Done("ok"), WebJsonContext.Default.Done).ConfigureAwait(false);
    }

    private CalibrationView ViewOf(CalibrationReport r) => new(
        r.Positives,
        r.Negatives,
        r.Settings.TargetSensitivity,
        r.Settings.MinPositives,
        r.Settings.MinNegatives,
        r.Refusal,
        [.. r.Roc.Select(p => new RocView(double.IsFinite(p.Threshold) ? p.Threshold : null, p.FalsePositiveRate, p.TruePositiveRate))],
        r.Auc,
        r.Threshold,
        r.Sensitivity,
        r.SensitivityInterval?.Low,
        r.SensitivityInterval?.High,
        r.Specificity,
        r.SpecificityInterval?.Low,
        r.SpecificityInterval?.High,
        "wilson",
        ThresholdInForce(_ports.Device.Snapshot()));

    // ---- helpers -----------------------------------------------------------------------------------------------------

    private WorklistRow RowOf(WorklistEntry e)
    {
        var stored = e.Status == "Screened" ? null : ParseLine(e.ResultJson);
        var (result, reason) = e.Status switch
        {
            "Screened" => (e.Referral == "Refer" ? "refer" : "no-refer", (string?)null),
            "Rejected" => ("rejected", string.Join("; ", stored?.Qc?.Reasons ?? [])),
            _ => ("error", e.Error),
        };
        return new WorklistRow(e.Id, Local(e.ScreenedAt), e.ExamReference, result, reason, Percent(e.Probability), Percent(e.Threshold), e.AcknowledgedBy, e.ConfirmedOutcome);
    }

    private async Task<ResultDetail?> DetailOrNotFoundAsync(HttpContext ctx)
    {
        if (_store.Detail(Id(ctx)) is { } detail)
        {
            return detail;
        }

        await ProblemAsync(ctx, StatusCodes.Status404NotFound, "no such result").ConfigureAwait(false);
        return null;
    }

    private async Task<Gray8Image?> DisplayOfAsync(ResultDetail detail, CancellationToken cancellationToken)
    {
        if (_displays.Get(detail.Entry.Id) is { } cached)
        {
            return cached;
        }

        var display = await _ports.Images.DisplayAsync(detail.ImagePath, DisplayMaxSide, cancellationToken).ConfigureAwait(false);
        if (display is not null)
        {
            _displays.Put(detail.Entry.Id, display);
        }

        return display;
    }

    private static string Id(HttpContext ctx) => ctx.Request.RouteValues["id"] as string ?? "";

    /// <summary>1 to 8 letters, digits, dots or hyphens (Chinese characters are letters): what goes into the audit line.</summary>
    public static string? Initials(string? value)
    {
        var trimmed = value?.Trim();
        return trimmed is { Length: >= 1 and <= 8 } && trimmed.All(c => char.IsLetterOrDigit(c) || c is '.' or '-') ? trimmed : null;
    }

    private DateTimeOffset StartOfToday()
    {
        var local = TimeZoneInfo.ConvertTime(_ports.Clock.GetUtcNow(), _options.TimeZone);
        var midnight = new DateTimeOffset(local.Date, local.Offset);
        return midnight.ToUniversalTime();
    }

    private string Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, _options.TimeZone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static double? Percent(double? p) => p is { } v ? Math.Round(v * 100, 1) : null;

    private static string Word(string name) => name.ToLowerInvariant();

    private static StoredLine? ParseLine(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, WebJsonContext.Default.StoredLine);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<T?> ReadAsync<T>(HttpContext ctx, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        if (!ctx.Request.HasJsonContentType())
        {
            return null;
        }

        try
        {
            return await ctx.Request.ReadFromJsonAsync(type, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task JsonAsync<T>(HttpContext ctx, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsJsonAsync(value, type, contentType: null, ctx.RequestAborted);
    }

    private static Task ProblemAsync(HttpContext ctx, int status, string error, string? key = null)
    {
        ctx.Response.StatusCode = status;
        return JsonAsync(ctx, new Problem(error, key), WebJsonContext.Default.Problem);
    }

    private static async Task PngAsync(HttpContext ctx, byte[] png)
    {
        ctx.Response.ContentType = "image/png";
        ctx.Response.Headers.CacheControl = "private, max-age=60";
        await ctx.Response.Body.WriteAsync(png, ctx.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Technician's page at {Urls} (login required: {Login})")]
    private static partial void LogListening(ILogger logger, string urls, bool login);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Page login failed from {Address} (locked out: {Locked})")]
    private static partial void LogLoginFailed(ILogger logger, string address, bool locked);

    [LoggerMessage(Level = LogLevel.Information, Message = "Page login from {Address}")]
    private static partial void LogLoggedIn(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Result {Id} acknowledged on the page")]
    private static partial void LogAcknowledged(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Site threshold {Threshold:0.0000} applied from the page ({Positives} positive, {Negatives} negative confirmed cases)")]
    private static partial void LogThresholdApplied(ILogger logger, double threshold, int positives, int negatives);

    /// <summary>The last few display images: the image and its overlay are asked for together.</summary>
    private sealed class DisplayCache(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly LinkedList<(string Id, Gray8Image Image)> _items = new();

        public Gray8Image? Get(string id)
        {
            lock (_lock)
            {
                return _items.FirstOrDefault(i => i.Id == id).Image;
            }
        }

        public void Put(string id, Gray8Image image)
        {
            lock (_lock)
            {
                _items.AddFirst((id, image));
                while (_items.Count > capacity)
                {
                    _items.RemoveLast();
                }
            }
        }
    }
}

/// <summary>Hands the web host's categories to the appliance's logger factory (which the host must not dispose).</summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory loggers) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => loggers.CreateLogger(categoryName);

    public void Dispose()
    {
    }
}

/// <summary>The page's one failure type: it cannot start (options, address in use).</summary>
public sealed class WebPageException : Exception
{
    public WebPageException(string message)
        : base(message)
    {
    }

    public WebPageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
