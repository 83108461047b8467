using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Edge.Dicom.Network;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;

namespace Edge.Dicom.Tests.Network;

/// <summary>
/// A real <see cref="DicomScp"/> on loopback with an OS-assigned port, a folder sink, and a log that fails the test on
/// any error line. Ends of associations are awaitable, so tests wait for cleanup instead of sleeping.
/// </summary>
internal sealed class ScpHarness : IAsyncDisposable
{
    public const string AeTitle = "EDGE";
    public const string CallingAe = "CONSOLE";

    private readonly TempDirectory _root = new("edge-scp");
    private readonly Channel<AssociationEnd> _ends = Channel.CreateUnbounded<AssociationEnd>();

    private ScpHarness(Action<DicomScpOptions>? configure)
    {
        Options = new DicomScpOptions
        {
            AeTitle = AeTitle,
            Port = 0,
            BindAddress = IPAddress.Loopback,
            TemporaryDirectory = _root.Combine("incoming"),
            FreeDiskFloorBytes = 0,
            ArtimTimeout = TimeSpan.FromSeconds(10),
            IdleTimeout = TimeSpan.FromSeconds(30),
            StopTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(Options);
        Sink = new SpoolingStoreSink(_root.Combine("received"));
        Scp = new DicomScp(Options, Sink, Log);
        Scp.AssociationEnded += end => _ends.Writer.TryWrite(end);
    }

    public DicomScpOptions Options { get; }

    public SpoolingStoreSink Sink { get; }

    public TestLogger<DicomScp> Log { get; } = new();

    public DicomScp Scp { get; }

    public int Port => Scp.Port;

    public string ReceivedDirectory => Sink.Directory;

    public string TemporaryDirectory => Options.TemporaryDirectory;

    public string Scratch => _root.Combine("scratch");

    public static async Task<ScpHarness> StartAsync(Action<DicomScpOptions>? configure = null)
    {
        var harness = new ScpHarness(configure);
        Directory.CreateDirectory(harness.Scratch);
        await harness.Scp.StartAsync(CancellationToken.None);
        return harness;
    }

    /// <summary>The next association to end, after its cleanup.</summary>
    public async Task<AssociationEnd> NextEndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await _ends.Reader.ReadAsync(timeout.Token);
    }

    public string[] ReceivedFiles() => Directory.GetFiles(ReceivedDirectory);

    public string[] TemporaryFiles() => Directory.GetFiles(TemporaryDirectory);

    public Task<ProcessResult> EchoAsync(string calledAe = AeTitle, string callingAe = CallingAe) =>
        ChildProcess.RunAsync("echoscu", ["-aec", calledAe, "-aet", callingAe, "127.0.0.1", Port.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));

    /// <summary>storescu -v -aec EDGE -aet CONSOLE [options] 127.0.0.1 PORT files...</summary>
    public Task<ProcessResult> StoreAsync(IEnumerable<string> files, IEnumerable<string>? options = null) =>
        ChildProcess.RunAsync("storescu", ["-v", "-aec", AeTitle, "-aet", CallingAe, .. options ?? [], "127.0.0.1", Port.ToString(CultureInfo.InvariantCulture), .. files], TimeSpan.FromSeconds(120));

    public async ValueTask DisposeAsync()
    {
        await Scp.DisposeAsync();
        _root.Dispose();
        Assert.True(Log.Errors.IsEmpty, "Error logged: " + string.Join(Environment.NewLine, Log.Errors));
    }
}

/// <summary>Keeps every log line; errors separately, so a harness can fail the test on them.</summary>
internal sealed class TestLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ConcurrentQueue<string> Errors { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception)}";
        Lines.Enqueue(line);
        if (logLevel >= LogLevel.Error)
        {
            Errors.Enqueue(line);
        }
    }

    public bool Contains(string text) => Lines.Any(l => l.Contains(text, StringComparison.Ordinal));
}
