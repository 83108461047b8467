using Edge.Dicom;
using Edge.Domain;
using Edge.Imaging;
using Edge.Web;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// The technician's page inside <c>run</c>: the web host with the appliance behind its ports. Started when
/// <c>Edge:Web:Urls</c> is set or <c>--serve</c> is given.
/// </summary>
public sealed class WebRunner : IAsyncDisposable
{
    private readonly Appliance _appliance;
    private readonly LiveUpdates _updates;
    private readonly WebPage _page;

    private WebRunner(Appliance appliance, LiveUpdates updates, WebPage page)
    {
        _appliance = appliance;
        _updates = updates;
        _page = page;
        _appliance.ResultSettled += _updates.ResultSettled;
    }

    public IReadOnlyList<string> Urls => _page.Urls;

    /// <exception cref="WebPageException">The page cannot start (options, address in use).</exception>
    public static async Task<WebRunner> StartAsync(Appliance appliance, WebPageOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var updates = new LiveUpdates();
        var ports = new WebPorts(
            new ConsoleView(appliance),
            new QueuedSlipReprinter(appliance.Printer, appliance.Store, appliance.SlipPreviews),
            new ExamImages(),
            new DeviceStatus(appliance),
            appliance.ThresholdOverrides,
            updates,
            TimeProvider.System);
        var page = await WebPage.StartAsync(options, appliance.Store, ports, loggers, cancellationToken).ConfigureAwait(false);
        return new WebRunner(appliance, updates, page);
    }

    public async ValueTask DisposeAsync()
    {
        _appliance.ResultSettled -= _updates.ResultSettled;
        await _page.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The lights as the panel drives them now (GPIO or the simulator), and the acknowledge the button gives.</summary>
    private sealed class ConsoleView : IConsoleView
    {
        private readonly Appliance _appliance;

        public ConsoleView(Appliance appliance) => _appliance = appliance;

        public ConsoleOutput Lights => _appliance.Lights.Output;

        public ConsoleState State => _appliance.Console.State;

        public event Action? Changed
        {
            add => _appliance.Console.Changed += value;
            remove => _appliance.Console.Changed -= value;
        }

        public Task AcknowledgeAsync(CancellationToken cancellationToken) => _appliance.Console.AcknowledgeAsync(cancellationToken);
    }

    /// <summary>The archived image read again (DICOM, PNG, JPEG) and windowed as the overlay was.</summary>
    private sealed class ExamImages : IExamImages
    {
        private readonly ImageFileReader _reader = new();

        public async ValueTask<Gray8Image?> DisplayAsync(string imagePath, int maxSide, CancellationToken cancellationToken)
        {
            try
            {
                var image = await _reader.ReadAsync(imagePath, cancellationToken).ConfigureAwait(false);
                return DisplayImage.Render(image, maxSide);
            }
            catch (Exception ex) when (ex is ImageReadException or IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    private sealed class DeviceStatus(Appliance appliance) : IDeviceStatus
    {
        public DeviceSnapshot Snapshot()
        {
            var options = appliance.Options;
            var manifest = appliance.Bundle.Manifest;
            return new DeviceSnapshot(
                Cli.FirmwareVersion,
                manifest.Name,
                manifest.Version,
                appliance.Scorer.ProviderName,
                manifest.Threshold,
                options.Decision.Threshold,
                options.Hardware.PrinterPort ?? "simulator",
                options.Storage.Path,
                appliance.DicomPort,
                options.Dicom.AeTitle,
                options.Mqtt.Embedded ? "embedded broker" : string.IsNullOrWhiteSpace(options.Mqtt.Host) ? "none" : $"{options.Mqtt.Host}:{options.Mqtt.Port}");
        }
    }
}
