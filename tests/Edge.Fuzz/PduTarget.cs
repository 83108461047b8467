using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Edge.Dicom.Network;
using Microsoft.Extensions.Logging;

namespace Edge.Fuzz;

/// <summary>
/// bytes -> our SCP exactly as a peer's bytes reach it: one real <see cref="DicomScp"/> on loopback for the whole run;
/// each input is one TCP connection that sends the bytes, half-closes, and drains the answer. The association's own
/// state machine (PduReader, A-ASSOCIATE parsing, negotiation, PDV reassembly, DIMSE parsing, C-STORE to a temp file,
/// Part-10 check) sees them; there is no socket-free entry point to the PDV and DIMSE handling.
/// <see cref="ScpAssociation"/> catches every exception and logs a bug of ours at Error: that log line is the finding,
/// so it is rethrown here for AFL++ to record.
/// </summary>
internal sealed class PduTarget : FuzzTarget
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"edge-fuzz-pdu-{Environment.ProcessId}");
    private readonly FindingLogger _logger = new();
    private readonly DicomScp _scp;
    private readonly SemaphoreSlim _ended = new(0);

    public PduTarget()
    {
        var options = new DicomScpOptions
        {
            AeTitle = "EDGE",
            Port = 0,
            BindAddress = IPAddress.Loopback,
            TemporaryDirectory = Path.Combine(_root, "incoming"),
            FreeDiskFloorBytes = 0,
            MaxPduLength = 16 * 1024,
            ArtimTimeout = TimeSpan.FromSeconds(5),
            IdleTimeout = TimeSpan.FromSeconds(5),
            StopTimeout = TimeSpan.FromSeconds(5),
            MaxObjectSize = 1024 * 1024,
        };
        _scp = new DicomScp(options, new DiscardingSink(), _logger);
        SubscribeToAssociationEnded();
        _scp.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public override void Run(byte[] input)
    {
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.NoDelay = true;
            client.Connect(IPAddress.Loopback, _scp.Port);
            try
            {
                // The SCP may answer (and close) before reading everything, e.g. after an A-ABORT: a reset here is the peer's problem.
                client.Send(input);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }

            var sink = new byte[64 * 1024];
            client.ReceiveTimeout = (int)Hang.TotalMilliseconds;
            try
            {
                while (client.Receive(sink) > 0)
                {
                }
            }
            catch (SocketException ex) when (ex.SocketErrorCode != SocketError.TimedOut)
            {
            }
        }

        // Every connection ends in exactly one AssociationEnded, after its cleanup: wait, so no coverage leaks into the next input.
        if (!_ended.Wait(Hang))
        {
            throw new TimeoutException($"The association did not end within {Hang.TotalSeconds} s of the peer closing.");
        }

        if (_logger.TakeFinding() is { } finding)
        {
            throw new InvalidOperationException("The SCP logged an unexpected failure (a bug, not a protocol error): " + finding, finding);
        }
    }

    public override void Dispose()
    {
        _scp.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _ended.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private void SubscribeToAssociationEnded() => _scp.AssociationEnded += _ => _ended.Release();

    private sealed class DiscardingSink : IDicomStoreSink
    {
        // The association deletes the temporary file after the hand-over unless a sink moved it.
        public ValueTask<StoreOutcome> AcceptAsync(ReceivedDicomObject received, CancellationToken cancellationToken) => ValueTask.FromResult(StoreOutcome.Stored);
    }

    /// <summary>Keeps the first exception logged at Error or above (NetworkLog.Unexpected, AcceptFailed).</summary>
    private sealed class FindingLogger : ILogger<DicomScp>
    {
        private readonly ConcurrentQueue<Exception> _findings = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                _findings.Enqueue(exception ?? new InvalidOperationException(formatter(state, exception)));
            }
        }

        public Exception? TakeFinding() => _findings.TryDequeue(out var finding) ? finding : null;
    }
}
