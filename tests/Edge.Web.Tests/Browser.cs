using Edge.TestSupport;
using Microsoft.Playwright;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Edge.Web.Tests;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright's own driver: no browser download, no network. One browser for the
/// test run; each test opens its own context (cookies, storage) at a 10-inch tablet's size.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public static string Artifacts { get; } = Path.Combine(Repo.Root, "out", "test-artifacts", "web");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Artifacts);

        // Generous on a loaded CI machine; assertions still return as soon as they hold.
        Assertions.SetDefaultExpectTimeout(60_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh context at 1280 x 800 (a 10-inch tablet held landscape); page errors fail the test.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, Locale = "en-GB" });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        page.PageError += (_, error) => PageErrors.Add(error);
        return page;
    }

    public List<string> PageErrors { get; } = [];

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
