using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Web.Tests;

/// <summary>The page over a real record in a temporary folder, on a port the system chooses; the rest are fakes.</summary>
public sealed class StorePage : IAsyncDisposable
{
    private readonly TempDirectory _temp;

    private StorePage(TempDirectory temp, ScreeningStore store, RecordedThresholdOverrides threshold, QuietConsole console, LiveUpdates updates, WebPage page)
    {
        _temp = temp;
        Store = store;
        Threshold = threshold;
        Console = console;
        Updates = updates;
        Page = page;
    }

    public ScreeningStore Store { get; }

    public RecordedThresholdOverrides Threshold { get; }

    public QuietConsole Console { get; }

    public LiveUpdates Updates { get; }

    public WebPage Page { get; }

    public string DatabasePath => _temp.Combine("edge.db");

    /// <summary>The first bound URL, with a wildcard host replaced by loopback so the browser can reach it.</summary>
    public string Url => Page.Urls[0].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal);

    public static async Task<StorePage> StartAsync(string url = "http://127.0.0.1:0", string? pinHash = null, CalibrationSettings? calibration = null)
    {
        var temp = new TempDirectory("edge-web");
        var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var threshold = Thresholds.Over(store);
        var console = new QuietConsole();
        var updates = new LiveUpdates();
        var options = new WebPageOptions { Urls = [url], PinHash = pinHash, Calibration = calibration ?? new CalibrationSettings() };
        var ports = new WebPorts(console, new NoSlips(), new GradientImages(), new FixedDevice(), threshold, updates, TimeProvider.System);
        var page = await WebPage.StartAsync(options, store, ports, NullLoggerFactory.Instance, CancellationToken.None);
        return new StorePage(temp, store, threshold, console, updates, page);
    }

    public async ValueTask DisposeAsync()
    {
        await Page.DisposeAsync();
        Store.Dispose();
        _temp.Dispose();
    }
}
