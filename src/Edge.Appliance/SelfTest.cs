using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Edge.Inference;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>Checks everything the appliance needs, one clear line per check; any FAIL means a non-zero exit.</summary>
public static class SelfTest
{
    public static async Task<int> RunAsync(string? configPath, TextWriter output, CancellationToken cancellationToken)
    {
        var failures = 0;
        void Report(bool ok, string check, string detail)
        {
            output.WriteLine($"{(ok ? "ok  " : "FAIL")} {check,-9} {detail}");
            failures += ok ? 0 : 1;
        }

        EdgeOptions options;
        try
        {
            options = EdgeOptions.Load(configPath);
            Report(true, "config", configPath ?? "defaults");
        }
        catch (ConfigurationException ex)
        {
            foreach (var problem in ex.Problems)
            {
                Report(false, "config", problem);
            }

            return Cli.Failed;
        }

        using var loggers = Cli.CreateLoggers(LogLevel.Critical);
        var logger = loggers.CreateLogger("Edge.SelfTest");
        ModelBundle? bundle = null;
        try
        {
            var selection = Appliance.SelectBundle(options, logger);
            bundle = selection.Bundle;
            foreach (var refusal in selection.Refused)
            {
                Report(false, "model", refusal.Reason);
            }

            if (bundle is not null)
            {
                Report(true, "model", $"{bundle.Manifest.Name} {bundle.Manifest.Version} sha256 {bundle.Manifest.Sha256[..12]}... signature verified ({bundle.Directory})");
            }
        }
        catch (ModelBundleException ex)
        {
            Report(false, "model", ex.Message);
        }

        if (bundle is not null)
        {
            try
            {
                using var scorer = OnnxScorer.Create(bundle, options.InferenceSettings(), logger);
                var warm = scorer.WarmUp();
                Report(true, "provider", string.Create(CultureInfo.InvariantCulture, $"{scorer.ProviderName} (runtime offers {string.Join(", ", OnnxScorer.AvailableProviders())}), warm-up {warm.TotalMilliseconds:0} ms"));
            }
            catch (ModelBundleException ex)
            {
                Report(false, "provider", ex.Message);
            }
        }

        CheckStorage(options, Report);
        Report(options.Hardware.Profile == "simulated", "hardware", options.Hardware.Profile == "simulated" ? "simulated lights and slip printer" : $"unknown profile {options.Hardware.Profile}");
        CheckPort(options.Dicom.Port, "dicom", Report);
        Report(options.Web.ToPageOptions(TimeZoneInfo.Utc).Validate().Count == 0, "web", string.IsNullOrWhiteSpace(options.Web.Urls) ? "off (run --serve: " + WebOptions.DefaultUrls + ")" : options.Web.Urls);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return failures == 0 ? Cli.Ok : Cli.Failed;
    }

    private static void CheckStorage(EdgeOptions options, Action<bool, string, string> report)
    {
        try
        {
            using var store = ScreeningStore.Open(Path.Combine(options.Storage.Path, "edge.db"));
            var check = store.Check();
            var spool = new Spool(options.Storage.Path);
            var probe = Path.Combine(spool.SpoolDirectory, ".tmp-selftest");
            File.WriteAllText(probe, "probe");
            File.Delete(probe);
            var free = new DriveInfo(Path.GetFullPath(options.Storage.Path)).AvailableFreeSpace;
            report(check == "ok", "storage", string.Create(CultureInfo.InvariantCulture, $"{options.Storage.Path}: record {check}, {store.CountResults()} results, {store.CountOutboxPending()} to sync, {free / (1024 * 1024)} MiB free"));
        }
        catch (Exception ex) when (ex is StorageException or IOException or UnauthorizedAccessException)
        {
            report(false, "storage", $"{options.Storage.Path}: {ex.Message}");
        }
    }

    private static void CheckPort(int port, string name, Action<bool, string, string> report)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            listener.Stop();
            report(true, name, string.Create(CultureInfo.InvariantCulture, $"port {port} free"));
        }
        catch (SocketException ex)
        {
            report(false, name, string.Create(CultureInfo.InvariantCulture, $"port {port} cannot be opened ({ex.SocketErrorCode}); is another program or the service already using it?"));
        }
    }
}
