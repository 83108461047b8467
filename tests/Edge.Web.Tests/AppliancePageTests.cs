using Edge.Appliance;
using Edge.Domain;
using Edge.Inference;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Edge.Web.Tests;

/// <summary>
/// The whole appliance as <c>run --serve</c> starts it (model on CPU, simulated lights and printer, watched folder), with
/// the page on a port the system chooses. The site threshold is set near zero so that every screened image refers.
/// </summary>
public sealed class LiveAppliance : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("edge-web-live");
    private readonly CancellationTokenSource _stop = new();
    private readonly ErrorLog _log = new();
    private ILoggerFactory _loggers = null!;
    private Task _running = Task.CompletedTask;

    /// <summary>Every line the appliance and the page logged, debug and up.</summary>
    public ErrorLog Log => _log;

    public Appliance.Appliance Appliance { get; private set; } = null!;

    public WebRunner Web { get; private set; } = null!;

    public string Url => Web.Urls[0];

    public string Inbox => _temp.Combine("inbox");

    public async Task InitializeAsync()
    {
        var options = new EdgeOptions
        {
            Site = new SiteOptions { Id = "test-site", TimeZone = "UTC" },
            Device = new DeviceOptions { Id = "test-device" },
            Storage = new StorageOptions { Path = _temp.Combine("data") },
            Model = new ModelOptions { Path = Repo.ModelBundles, PublicKeyPath = Repo.DevPublicKey, Providers = [ExecutionProvider.Cpu] },
            Decision = new DecisionOptions { Threshold = 0.0001 },
            Hardware = new HardwareOptions { Profile = "simulated", LightsLog = _temp.Combine("out", "lights.log"), SlipDirectory = _temp.Combine("out", "slips") },
            Intake = new IntakeOptions { WatchPath = Inbox, SettleTime = TimeSpan.Zero, PollInterval = TimeSpan.FromMilliseconds(100) },
            Output = new OutputOptions { Path = _temp.Combine("out") },
            Dicom = new DicomOptions { Enabled = false },
            Web = new WebOptions { Urls = "http://127.0.0.1:0" },
        };
        Assert.Empty(options.Validate());
        _loggers = _log.Factory();
        Appliance = Edge.Appliance.Appliance.Start(options, _loggers);
        Web = await WebRunner.StartAsync(Appliance, options.Web.ToPageOptions(TimeZoneInfo.Utc), _loggers, CancellationToken.None);
        _running = new IntakeService(Appliance, _loggers).RunAsync(untilIdle: false, _stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        await Web.DisposeAsync();
        await Appliance.DisposeAsync();
        _loggers.Dispose();
        _stop.Dispose();
        _temp.Dispose();
    }
}

[Collection(BrowserCollection.Name)]
public sealed class AppliancePageTests(BrowserFixture browser, LiveAppliance site) : IClassFixture<LiveAppliance>
{

    [Fact]
    public async Task Worklist_ImageArrives_AppearsWithoutReloadAndOpensWithOverlayAndAcknowledgeClearsRedLight()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url + "/#/worklist");
        await Expect(page.Locator("body[data-live=true]")).ToHaveCountAsync(1);
        var before = await page.Locator("#worklist tr.row").CountAsync();
        await page.EvaluateAsync("() => { window.stillTheSamePage = true; }");

        File.Copy(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), Path.Combine(site.Inbox, "chest.dcm"));

        // Server-sent events bring the row in; the marker proves the page was not reloaded.
        await Expect(page.Locator("#worklist tr.row")).ToHaveCountAsync(before + 1);
        Assert.True(await page.EvaluateAsync<bool>("() => window.stillTheSamePage === true"));
        var row = page.Locator("#worklist tr.row").First;
        await Expect(row.Locator(".badge")).ToHaveTextAsync("Refer");
        await Expect(page.Locator("[data-count=refer] .n")).ToHaveTextAsync((before + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var id = await row.GetAttributeAsync("data-id");
        var examReference = await row.Locator(".ref").TextContentAsync();
        Assert.NotNull(id);
        await BrowserFixture.ScreenshotAsync(page, "worklist");

        // The red light is on for the refer, on the simulated panel and in the page's tower.
        Assert.NotEqual(LightPattern.Off, site.Appliance.Lights.Output.Red);
        await Expect(page.Locator("#tower [data-lamp=red]")).Not.ToHaveAttributeAsync("data-pattern", "off");

        await row.ClickAsync();
        await page.WaitForFunctionAsync("() => ['image', 'overlay'].every(id => { const i = document.getElementById(id); return i && i.complete && i.naturalWidth > 0; })");
        await Expect(page.Locator("#overlay")).ToBeVisibleAsync();
        Assert.Equal("0.4", await page.Locator("#overlay").EvaluateAsync<string>("o => o.style.opacity"));
        await Expect(page.Locator("#result-badge")).ToHaveTextAsync("Refer");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("AI triage aid, not a diagnosis");
        await page.WaitForFunctionAsync("() => { const s = document.getElementById('slip'); return s && s.complete && s.naturalWidth > 0; }");
        await BrowserFixture.ScreenshotAsync(page, "detail-overlay");

        await page.Locator("#overlay-opacity").FillAsync("75");
        Assert.Equal("0.75", await page.Locator("#overlay").EvaluateAsync<string>("o => o.style.opacity"));
        await page.UncheckAsync("#overlay-toggle");
        await Expect(page.Locator("#overlay")).ToBeHiddenAsync();
        await page.CheckAsync("#overlay-toggle");

        await page.ClickAsync("#reprint");
        await Expect(page.Locator("#detail-message")).ToHaveTextAsync("Slip sent to the printer");

        await page.FillAsync("#ack-initials", "MK");
        await page.ClickAsync("#ack");
        await Expect(page.Locator("#acked")).ToContainTextAsync("Acknowledged by MK");
        Assert.Equal(LightPattern.Off, site.Appliance.Lights.Output.Red);
        await Expect(page.Locator("#tower [data-lamp=red]")).ToHaveAttributeAsync("data-pattern", "off");
        Assert.Contains(site.Appliance.Store.Audit(id), a => a.Action == "acknowledged" && a.Detail == "by MK on the page");

        // The same tablet held upright: one column, nothing cut off.
        await page.SetViewportSizeAsync(800, 1280);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 800"));
        await BrowserFixture.ScreenshotAsync(page, "detail-portrait");
        await page.SetViewportSizeAsync(1280, 800);

        await page.GotoAsync(site.Url + "/#/status");
        await Expect(page.Locator("[data-status-lamp=red]")).ToHaveAttributeAsync("data-pattern", "off");
        await Expect(page.Locator("[data-status-lamp=green]")).ToHaveAttributeAsync("data-pattern", "steady");
        await Expect(page.Locator("main")).ToContainTextAsync("simulator");
        await BrowserFixture.ScreenshotAsync(page, "status");
        Assert.Empty(browser.PageErrors);
        Assert.Empty(site.Log.Problems);

        // The exam reference is patient data: on the page, never in a log line.
        Assert.NotEqual("–", examReference);
        Assert.DoesNotContain(site.Log.All, line => line.Contains(examReference!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Page_ChineseChosen_EveryLabelFromTheTableAndRemembered()
    {
        var page = await browser.NewPageAsync();

        await page.GotoAsync(site.Url + "/?lang=zh-CN#/worklist");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("AI 辅助分诊，非诊断");
        await Expect(page.Locator("[data-nav=calibration]")).ToHaveTextAsync("本地校准");
        await BrowserFixture.ScreenshotAsync(page, "worklist-zh");

        await page.GotoAsync(site.Url + "/#/status");
        await Expect(page.Locator("[data-nav=status]")).ToHaveTextAsync("设备状态");
        await page.GotoAsync(site.Url + "/?lang=en#/worklist");
        await Expect(page.Locator("[data-nav=status]")).ToHaveTextAsync("Device status");
    }
}
