using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Edge.Dicom.Network;

/// <summary>
/// The appliance's DICOM listener: C-ECHO and C-STORE SCP. One task per connection; a full house is answered with a
/// transient rejection, not a queue. Objects are made durable by the <see cref="IDicomStoreSink"/> before the console
/// hears "success", so an acknowledged image survives a power cut.
/// </summary>
public sealed class DicomScp : IAsyncDisposable
{
    /// <summary>Temporary files of objects being received start with this; leftovers of a crash are deleted at start.</summary>
    internal const string TemporaryFilePrefix = "edge-scp-";

    private readonly DicomScpOptions _options;
    private readonly IDicomStoreSink _sink;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<Task, byte> _associations = new();
    private readonly CancellationTokenSource _abortAssociations = new();
    private TcpListener? _listener;
    private Task? _acceptLoop;
    private int _stopped;

    public DicomScp(DicomScpOptions options, IDicomStoreSink sink, ILogger<DicomScp> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(logger);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid DICOM listener options: " + string.Join(" ", problems), nameof(options));
        }

        _options = options;
        _sink = sink;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxAssociations, options.MaxAssociations);
    }

    /// <summary>The bound port (the OS's choice when <see cref="DicomScpOptions.Port"/> is 0); valid after <see cref="StartAsync"/>.</summary>
    public int Port => (_listener?.LocalEndpoint as IPEndPoint)?.Port ?? throw new InvalidOperationException("The listener is not started.");

    /// <summary>Test hook: raised after a connection has ended and cleaned up (temporary files gone, slot released).</summary>
    internal event Action<AssociationEnd>? AssociationEnded;

    /// <summary>Sweeps stale temporary files, binds, and returns once connections are being accepted.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_listener is not null)
        {
            throw new InvalidOperationException("The listener is already started.");
        }

        Directory.CreateDirectory(_options.TemporaryDirectory);
        foreach (var stale in Directory.EnumerateFiles(_options.TemporaryDirectory, TemporaryFilePrefix + "*"))
        {
            File.Delete(stale);
        }

        var listener = new TcpListener(_options.BindAddress, _options.Port);
        listener.Start(backlog: Math.Max(16, _options.MaxAssociations * 2));
        _listener = listener;
        NetworkLog.Listening(_logger, _options.AeTitle, (IPEndPoint)listener.LocalEndpoint);
        _acceptLoop = AcceptLoopAsync(listener);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting, lets running associations finish for <see cref="DicomScpOptions.StopTimeout"/> (or until
    /// <paramref name="cancellationToken"/>), then aborts the rest; their partial objects are deleted.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1 || _listener is null)
        {
            return;
        }

        _listener.Stop();
        await _acceptLoop!.ConfigureAwait(false);

        var running = Task.WhenAll(_associations.Keys);
        try
        {
            await running.WaitAsync(_options.StopTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            NetworkLog.StopTimedOut(_logger, _options.StopTimeout);
            await _abortAssociations.CancelAsync().ConfigureAwait(false);
            await running.ConfigureAwait(false);
        }

        NetworkLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _abortAssociations.Dispose();
        _slots.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException && Volatile.Read(ref _stopped) == 1)
            {
                return;
            }
            catch (SocketException ex)
            {
                // E.g. out of file descriptors, or a connection reset before it was accepted: keep listening.
                NetworkLog.AcceptFailed(_logger, ex);
                continue;
            }

            socket.NoDelay = true;
            var association = new ScpAssociation(socket, _options, _sink, _logger, _slots);
            var task = RunAssociationAsync(association);
            _associations.TryAdd(task, 0);
            _ = task.ContinueWith(t => _associations.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunAssociationAsync(ScpAssociation association)
    {
        // Off the accept loop at once, so a slow peer never delays the next accept.
        await Task.Yield();
        var end = await association.RunAsync(_abortAssociations.Token).ConfigureAwait(false);
        AssociationEnded?.Invoke(end);
    }
}
