using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Edge.Domain;
using Edge.Inference;
using Edge.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>The command-line verbs: run, screen, selftest, version.</summary>
public static partial class Cli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    private const string UsageText = """
        edge-appliance: TB screening at the X-ray console (an AI triage aid, not a diagnosis)

          run      [--config PATH] [--until-idle] [--serve] screen every image the console sends (DICOM) or the watched folder holds;
                                                            --serve: the technician's page (also whenever Edge:Web:Urls is set)
          screen   [--config PATH] [--format jsonl|table] FILE...   screen files now and print the results
          selftest [--config PATH]                          check configuration, model, provider, storage, hardware, ports
          version                                           firmware and runtime versions
          hash-pin                                          read the page's PIN from stdin, print the value for Edge:Web:PinHash

        Configuration: --config PATH, else appsettings.json beside the program, else /etc/edge/appsettings.json;
        environment variables Edge__Section__Key override any key.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(UsageText);
            return args.Length == 0 ? Usage : Ok;
        }

        var verb = args[0];
        var parsed = Arguments.Parse(args[1..]);
        if (parsed.Error is not null)
        {
            Console.Error.WriteLine(parsed.Error);
            return Usage;
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

        try
        {
            return verb switch
            {
                "version" => PrintVersion(),
                "selftest" => await SelfTest.RunAsync(parsed.Config, Console.Out, cancel.Token).ConfigureAwait(false),
                "screen" => await ScreenAsync(parsed, cancel.Token).ConfigureAwait(false),
                "run" => await RunServiceAsync(parsed, cancel.Token).ConfigureAwait(false),
                "hash-pin" => HashPin(),
                ChildProcessDecode.Verb => await ChildProcessDecode.RunAsync(parsed.Files, cancel.Token).ConfigureAwait(false),
                _ => UnknownVerb(verb),
            };
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine("Configuration problems:");
            foreach (var problem in ex.Problems)
            {
                Console.Error.WriteLine("  - " + problem);
            }

            return Failed;
        }
        catch (ModelBundleException ex)
        {
            Console.Error.WriteLine("Model not loaded: " + ex.Message);
            return Failed;
        }
        catch (StorageException ex)
        {
            Console.Error.WriteLine("Storage problem: " + ex.Message);
            return Failed;
        }
        catch (Edge.Web.WebPageException ex)
        {
            Console.Error.WriteLine("The technician's page cannot start: " + ex.Message);
            return Failed;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return Failed;
        }
    }

    public static string FirmwareVersion =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static ILoggerFactory CreateLoggers(LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(minimum);

        // Logs go to stderr so that stdout carries only results (jsonl or the table).
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    private static int PrintVersion()
    {
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"edge-appliance {FirmwareVersion} ({RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription}, {(RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT")})"));
        return Ok;
    }

    private static int UnknownVerb(string verb)
    {
        Console.Error.WriteLine($"Unknown verb '{verb}'. Try: run, screen, selftest, version.");
        return Usage;
    }

    private static async Task<int> ScreenAsync(Arguments arguments, CancellationToken cancellationToken)
    {
        if (arguments.Files.Count == 0)
        {
            Console.Error.WriteLine("screen: name at least one image file (DICOM, PNG or JPEG).");
            return Usage;
        }

        var missing = arguments.Files.Where(f => !File.Exists(f)).ToList();
        foreach (var file in missing)
        {
            Console.Error.WriteLine($"screen: {file} does not exist.");
        }

        if (missing.Count > 0)
        {
            return Usage;
        }

        var options = EdgeOptions.Load(arguments.Config);
        using var loggers = CreateLoggers(LogLevel.Warning);
        await using var appliance = Appliance.Start(options, loggers);
        var lines = new List<ResultLine>();
        var reading = Task.Run(
            async () =>
            {
                await foreach (var item in appliance.Pipeline.Completed.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    var line = appliance.LineFor(item);
                    lines.Add(line);
                    if (arguments.Format == OutputFormat.Jsonl)
                    {
                        await Console.Out.WriteLineAsync(line.ToJson()).ConfigureAwait(false);
                    }
                }
            },
            cancellationToken);

        foreach (var file in arguments.Files)
        {
            var image = await appliance.AdmitFileAsync(file, IntakeSource.File, cancellationToken).ConfigureAwait(false);
            await appliance.Pipeline.SubmitAsync(image with { OriginalName = file }, cancellationToken).ConfigureAwait(false);
        }

        appliance.Pipeline.CompleteInput();
        await reading.ConfigureAwait(false);
        if (arguments.Format == OutputFormat.Table)
        {
            ResultTable.Write(Console.Out, lines);
        }

        return lines.Any(l => l.Status == "error") ? Failed : Ok;
    }

    private static async Task<int> RunServiceAsync(Arguments arguments, CancellationToken cancellationToken)
    {
        var options = EdgeOptions.Load(arguments.Config);
        using var loggers = CreateLoggers();
        // Under systemd (Type=notify) keep-alives start at once: loading the model (a TensorRT engine build on a first
        // start) can outlast the watchdog, and TimeoutStartSec bounds a start that hangs. Once running they go on only
        // while every pipeline stage runs, so a dead stage gets the service restarted.
        using var systemd = SystemdNotifier.FromEnvironment();
        using var stopWatchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Appliance? started = null;
        var watchdog = systemd?.RunWatchdogAsync(() => Volatile.Read(ref started)?.Pipeline.IsRunning ?? true, stopWatchdog.Token) ?? Task.CompletedTask;
        try
        {
            await using var appliance = Appliance.Start(options, loggers);
            Volatile.Write(ref started, appliance);
            await using var web = arguments.Serve || !string.IsNullOrWhiteSpace(options.Web.Urls)
                ? await WebRunner.StartAsync(appliance, options.Web.ToPageOptions(options.SiteTimeZone()), loggers, cancellationToken).ConfigureAwait(false)
                : null;
            if (web is not null)
            {
                Console.Out.WriteLine($"Technician's page: {string.Join(" ", web.Urls)}");
            }

            systemd?.Ready();
            using var stopping = cancellationToken.Register(() => systemd?.Stopping());
            var service = new IntakeService(appliance, loggers);
            var lines = await service.RunAsync(arguments.UntilIdle, cancellationToken).ConfigureAwait(false);
            if (arguments.UntilIdle)
            {
                ResultTable.Write(Console.Out, lines);
            }

            if (web is not null && arguments.UntilIdle && !cancellationToken.IsCancellationRequested)
            {
                // The demo: the batch is done, the page stays up to look at the results until Ctrl-C.
                Console.Out.WriteLine($"Serving the technician's page at {string.Join(" ", web.Urls)} until Ctrl-C.");
                await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        finally
        {
            await stopWatchdog.CancelAsync().ConfigureAwait(false);
            await watchdog.ConfigureAwait(false);
        }

        return Ok;
    }

    /// <summary>Reads the PIN from stdin (not the command line, which other users and the shell history can see).</summary>
    private static int HashPin()
    {
        var pin = Console.In.ReadLine()?.TrimEnd('\r', '\n');
        if (string.IsNullOrEmpty(pin) || pin.Length < 4)
        {
            Console.Error.WriteLine("hash-pin: give a PIN or password of at least 4 characters on stdin.");
            return Usage;
        }

        Console.Out.WriteLine(Edge.Web.PinHash.Create(pin));
        return Ok;
    }
}

public enum OutputFormat
{
    Jsonl,
    Table,
}

/// <summary>Parsed options shared by the verbs.</summary>
public sealed record Arguments(string? Config, OutputFormat Format, bool UntilIdle, IReadOnlyList<string> Files, string? Error)
{
    /// <summary><c>--serve</c>: the technician's page even without <c>Edge:Web:Urls</c>.</summary>
    public bool Serve { get; init; }

    public static Arguments Parse(string[] args)
    {
        string? config = null;
        var format = OutputFormat.Jsonl;
        var untilIdle = false;
        var serve = false;
        var files = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Length:
                    config = args[++i];
                    break;
                case "--format" when i + 1 < args.Length:
                    var value = args[++i];
                    if (value is not ("jsonl" or "table"))
                    {
                        return new Arguments(null, format, false, [], $"--format must be jsonl or table, not '{value}'.");
                    }

                    format = value == "table" ? OutputFormat.Table : OutputFormat.Jsonl;
                    break;
                case "--until-idle":
                    untilIdle = true;
                    break;
                case "--serve":
                    serve = true;
                    break;
                case var flag when flag.StartsWith("--", StringComparison.Ordinal):
                    return new Arguments(null, format, false, [], $"Unknown or incomplete option '{flag}'.");
                default:
                    files.Add(args[i]);
                    break;
            }
        }

        return new Arguments(config, format, untilIdle, files, null) { Serve = serve };
    }
}

/// <summary>The readable table for people at a terminal.</summary>
public static class ResultTable
{
    public static void Write(TextWriter writer, IReadOnlyList<ResultLine> lines)
    {
        writer.WriteLine($"{"file",-36} {"status",-9} {"score",6} {"thr",6} {"decision",-9} {"qc",-7} {"ms",7}  notes");
        foreach (var line in lines)
        {
            var name = line.File.Length > 36 ? "..." + line.File[^33..] : line.File;
            var total = line.Timings.Values.Sum();
            var notes = line.Error ?? string.Join("; ", line.Qc.Reasons);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {line.Status,-9} {Number(line.Score),6} {Number(line.Threshold),6} {line.Decision ?? "-",-9} {line.Qc.Verdict,-7} {total,7:0}  {notes}"));
        }

        var screened = lines.Count(l => l.Status == "screened");
        var refer = lines.Count(l => l.Decision == "refer");
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{lines.Count} image(s): {screened} screened ({refer} refer), {lines.Count(l => l.Status == "rejected")} rejected, {lines.Count(l => l.Status == "error")} error. AI triage aid, not a diagnosis."));
    }

    private static string Number(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
