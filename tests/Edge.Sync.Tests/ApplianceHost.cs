using Edge.Appliance;
using Edge.Inference;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;

namespace Edge.Sync.Tests;

/// <summary>Every log line of every component, at every level, kept for a test to read.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<(LogLevel Level, string Category, string Text)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Category, string Text)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Capturing(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogLevel level, string category, string text)
    {
        lock (_lines)
        {
            _lines.Add((level, category, text));
        }
    }

    private sealed class Capturing(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception));
    }
}

/// <summary>
/// The appliance's <c>run</c> in this process (same composition as the executable), on a fresh data folder, syncing to
/// a broker on loopback, its DICOM listener on a free port, every log line captured.
/// </summary>
public sealed class ApplianceHost : IAsyncDisposable
{
    public const string Site = "site-a";
    public const string Device = "dev-1";
    private readonly ILoggerFactory _loggers;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private ApplianceHost(EdgeOptions options, CapturedLogs logs, ILoggerFactory loggers, Appliance.Appliance appliance)
    {
        Options = options;
        Logs = logs;
        _loggers = loggers;
        Appliance = appliance;
        _running = Task.Run(() => new IntakeService(appliance, loggers).RunAsync(untilIdle: false, _stop.Token));
    }

    public EdgeOptions Options { get; }

    public CapturedLogs Logs { get; }

    public Appliance.Appliance Appliance { get; }

    public string Inbox => Options.Intake.WatchPath;

    public int DicomPort => Options.Dicom.Port;

    /// <summary>A site key file of 32 random bytes in <paramref name="temp"/>.</summary>
    public static string WriteKey(TempDirectory temp)
    {
        var path = temp.Combine("pseudonym.key");
        File.WriteAllBytes(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return path;
    }

    public static EdgeOptions OptionsFor(TempDirectory temp, int brokerPort, string keyPath) => new()
    {
        Site = new SiteOptions { Id = Site, TimeZone = "UTC" },
        Device = new DeviceOptions { Id = Device },
        Storage = new StorageOptions { Path = temp.Combine("data") },
        Model = new ModelOptions { Path = Repo.ModelBundles, PublicKeyPath = Repo.DevPublicKey, Providers = [ExecutionProvider.Cpu] },
        Hardware = new HardwareOptions { Profile = "simulated", LightsLog = temp.Combine("out", "lights.log"), SlipDirectory = temp.Combine("out", "slips") },
        Intake = new IntakeOptions { WatchPath = temp.Combine("inbox"), SettleTime = TimeSpan.Zero, PollInterval = TimeSpan.FromMilliseconds(100) },
        Output = new OutputOptions { Path = temp.Combine("out") },
        Dicom = new DicomOptions { Port = Ports.Free(), BindAddress = "127.0.0.1", FreeDiskFloorMb = 1 },
        Mqtt = new MqttOptions
        {
            Host = "127.0.0.1",
            Port = brokerPort,
            UseTls = false,
            MaxMessagesPerSecond = 5000,
            MinReconnectDelay = TimeSpan.FromSeconds(1),
            MaxReconnectDelay = TimeSpan.FromSeconds(2),
        },
        Sync = new Edge.Appliance.SyncOptions { PseudonymKeyPath = keyPath },
    };

    public static async Task<ApplianceHost> StartAsync(EdgeOptions options)
    {
        var problems = options.Validate();
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        Directory.CreateDirectory(options.Intake.WatchPath);
        var logs = new CapturedLogs();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var appliance = Edge.Appliance.Appliance.Start(options, loggers);
        var host = new ApplianceHost(options, logs, loggers, appliance);
        await host.WaitForLogAsync(l => l.Text.StartsWith("DICOM listener", StringComparison.Ordinal));
        return host;
    }

    /// <summary>Polls the record (it raises no event per result) until it holds <paramref name="count"/> results.</summary>
    public async Task WaitForResultsAsync(long count, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        while (Appliance.Store.CountResults() < count)
        {
            if (_running.IsCompleted)
            {
                await _running;
            }

            await Task.Delay(50, deadline.Token);
        }
    }

    public async Task WaitForLogAsync(Func<(LogLevel Level, string Category, string Text), bool> match)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!Logs.Lines.Any(match))
        {
            if (_running.IsCompleted)
            {
                await _running;
            }

            try
            {
                await Task.Delay(20, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("Log line not seen; got: " + string.Join(" | ", Logs.Lines.Select(l => l.Text)));
            }
        }
    }

    /// <summary>Stops as SIGTERM would: images taken finish, the publisher says offline.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _running.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            await Appliance.DisposeAsync();
            _loggers.Dispose();
            _stop.Dispose();
        }
    }
}
