using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Edge.Collector;

/// <summary>The collector's verbs: run, version.</summary>
public static class CollectorCli
{
    private const string UsageText = """
        edge-collector: the provincial TB programme's collector of de-identified screening results

          run [--config PATH]   take results from the broker, keep them, serve the dashboard, API and exports
          version               collector and runtime versions

        Configuration: --config PATH, else appsettings.json beside the program, else /etc/edge/collector.json;
        environment variables Collector__Section__Key override any key (docs/collector.md).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(UsageText);
            return args.Length == 0 ? 2 : 0;
        }

        if (args[0] == "version")
        {
            Console.Out.WriteLine($"edge-collector {typeof(CollectorCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion} ({RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier})");
            return 0;
        }

        if (args[0] != "run" || (args.Length != 1 && !(args.Length == 3 && args[1] == "--config")))
        {
            Console.Error.WriteLine(UsageText);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cancel.Cancel();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            cancel.Cancel();
        });

        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
        try
        {
            var options = CollectorOptions.Load(args.Length == 3 ? args[2] : null);
            await using var host = await CollectorHost.StartAsync(options, loggers, cancel.Token).ConfigureAwait(false);
            Console.Error.WriteLine($"edge-collector: store {host.Store.Kind}, dashboard {host.WebAddress?.ToString() ?? "off"}");
            await host.WaitAsync(cancel.Token).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is CollectorException or IOException)
        {
            // IOException: the dashboard's address is taken or not ours to bind.
            Console.Error.WriteLine("edge-collector: " + ex.Message);
            return 1;
        }
    }
}
