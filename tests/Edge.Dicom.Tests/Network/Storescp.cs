using System.Globalization;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Network;

/// <summary>
/// DCMTK's storescp on a free loopback port, accepting every transfer syntax it knows (+xa) and writing each object
/// bit-preserving (+B): its files are the reference for "what storescu put on the wire" and the peer for our SCU.
/// </summary>
internal sealed class Storescp : IAsyncDisposable
{
    public const string AeTitle = "STORESCP";

    private readonly TempDirectory _output = new("edge-storescp");
    private ChildProcess? _process;

    public int Port { get; private set; }

    public string OutputDirectory => _output.Path;

    public static async Task<Storescp> StartAsync()
    {
        var storescp = new Storescp { Port = Ports.Free() };
        storescp._process = ChildProcess.Start("storescp", ["-v", "-aet", AeTitle, "+xa", "+B", "-od", storescp.OutputDirectory, storescp.Port.ToString(CultureInfo.InvariantCulture)]);
        await Ports.WaitUntilListeningAsync(storescp.Port, storescp._process);
        return storescp;
    }

    public Task<ProcessResult> StoreAsync(string file, string proposal) =>
        ChildProcess.RunAsync("storescu", ["-v", "-aec", AeTitle, "-aet", ScpHarness.CallingAe, proposal, "127.0.0.1", Port.ToString(CultureInfo.InvariantCulture), file], TimeSpan.FromSeconds(120));

    public string Log => (_process?.Stdout ?? string.Empty) + (_process?.Stderr ?? string.Empty);

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _output.Dispose();
    }
}
