using System.IO.Ports;
using System.Threading.Channels;
using Edge.Domain;

namespace Edge.Hardware;

/// <summary>The way to the slip printer: bytes out, status back. Failures of the link itself are <see cref="HardwareException"/>.</summary>
public interface IPrinterLink : IDisposable
{
    /// <summary>Asks the printer how it is; <see cref="PrinterStatus.Unknown"/> when it does not answer in time.</summary>
    /// <exception cref="HardwareException">The printer cannot be reached (port gone, cable out).</exception>
    ValueTask<PrinterStatus> QueryStatusAsync(CancellationToken cancellationToken);

    /// <exception cref="HardwareException">The bytes could not be written.</exception>
    ValueTask WriteAsync(PrintJob job, CancellationToken cancellationToken);
}

/// <summary>Settings of a link to a real printer.</summary>
public sealed class PrinterLinkOptions
{
    /// <summary>How long a status answer may take once the printer has all earlier bytes; after it the printer counts as silent.</summary>
    public TimeSpan StatusTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Serial speed; also how long a job takes on the wire before the printer can answer behind it. 0: not serial.</summary>
    public int BaudRate { get; init; }
}

/// <summary>
/// ESC/POS to a printer behind a stream: a serial port (UART or USB-serial) or a device file such as /dev/usb/lp0.
/// The stream is opened when first needed and again after it fails, so a printer unplugged and plugged back is found
/// again without a restart. A reader drains what the printer sends, so status answers are awaited with a timeout and
/// a silent printer never blocks printing.
/// </summary>
public sealed class StreamPrinterLink(Func<Stream> open, PrinterLinkOptions? options = null) : IPrinterLink
{
    private readonly PrinterLinkOptions _options = options ?? new PrinterLinkOptions();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Connection? _connection;
    private TimeSpan _onTheWire;

    /// <summary>A tty (or a /dev/serial/ link) as a serial port, 8N1 at the given rate; any other path as a device file.</summary>
    public static StreamPrinterLink Open(string path, int baudRate, TimeSpan? statusTimeout = null)
    {
        var serial = Path.GetFileName(path).StartsWith("tty", StringComparison.Ordinal) || path.Contains("/serial/", StringComparison.Ordinal);
        var options = new PrinterLinkOptions { BaudRate = serial ? baudRate : 0, StatusTimeout = statusTimeout ?? TimeSpan.FromMilliseconds(500) };
        return new StreamPrinterLink(serial ? () => OpenSerial(path, baudRate) : () => OpenDeviceFile(path), options);
    }

    public async ValueTask<PrinterStatus> QueryStatusAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = Connect();
            if (connection.Answers is not { } answers)
            {
                return PrinterStatus.Unknown;
            }

            // Anything left over (a late answer after a timeout) must not be read as the answer to this request.
            while (answers.TryRead(out _))
            {
            }

            // The request queues behind a job still on the wire: allow for it once, then the plain timeout. Only for a
            // printer that has answered before: a silent one would only make every slip wait.
            var timeout = _options.StatusTimeout + (connection.EverAnswered ? _onTheWire : TimeSpan.Zero);
            _onTheWire = TimeSpan.Zero;
            var bytes = new byte[EscPosStatus.Requests.Length];
            for (var i = 0; i < bytes.Length; i++)
            {
                await SendAsync(connection, EscPosStatus.Request(EscPosStatus.Requests[i]), cancellationToken).ConfigureAwait(false);
                if (await ReadAnswerAsync(connection, answers, timeout, cancellationToken).ConfigureAwait(false) is not { } answer)
                {
                    return PrinterStatus.Unknown;
                }

                bytes[i] = answer;
                connection.EverAnswered = true;
                timeout = _options.StatusTimeout;
            }

            return EscPosStatus.Decode(bytes[0], bytes[1], bytes[2], bytes[3]);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask WriteAsync(PrintJob job, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendAsync(Connect(), job.Bytes, cancellationToken).ConfigureAwait(false);
            if (_options.BaudRate > 0)
            {
                // 10 bits a byte (8N1).
                _onTheWire = TimeSpan.FromSeconds(job.Bytes.Length * 10.0 / _options.BaudRate);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connection = null;
        _gate.Dispose();
    }

    private static Stream OpenSerial(string path, int baudRate)
    {
        var port = new SerialPort(path, baudRate, Parity.None, 8, StopBits.One) { Handshake = Handshake.None, WriteTimeout = 10_000 };
        port.Open();
        return port.BaseStream;
    }

    /// <summary>Read and write where the device allows it (usblp passes status back), else write only: status then stays unknown.</summary>
    private static FileStream OpenDeviceFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (UnauthorizedAccessException)
        {
            return new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        }
    }

    private Connection Connect()
    {
        if (_connection is { Broken: false } connection)
        {
            return connection;
        }

        _connection?.Dispose();
        _connection = null;
        try
        {
            _connection = new Connection(open());
            return _connection;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            throw new HardwareException($"Slip printer cannot be opened: {ex.Message}", ex);
        }
    }

    private async Task SendAsync(Connection connection, byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await connection.Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await connection.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or TimeoutException)
        {
            connection.Dispose();
            _connection = null;
            throw new HardwareException($"Slip printer stopped taking data: {ex.Message}", ex);
        }
    }

    private async Task<byte?> ReadAnswerAsync(Connection connection, ChannelReader<byte> answers, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            // Bytes that are no status answer (a printer's own chatter) are skipped.
            while (true)
            {
                var value = await answers.ReadAsync(wait.Token).ConfigureAwait(false);
                if (EscPosStatus.IsStatusByte(value))
                {
                    return value;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (ChannelClosedException ex)
        {
            // The reader saw the end of the stream: the port went away under us.
            connection.Dispose();
            _connection = null;
            throw new HardwareException($"Slip printer went away: {ex.InnerException?.Message ?? "end of stream"}", ex);
        }
    }

    /// <summary>One open stream and the thread that reads from it (reads on ttys and device files block and cannot be cancelled).</summary>
    private sealed class Connection : IDisposable
    {
        private readonly Channel<byte>? _answers;
        private int _broken;

        public Connection(Stream stream)
        {
            Stream = stream;
            if (stream.CanRead)
            {
                _answers = Channel.CreateBounded<byte>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });
                new Thread(ReadLoop) { IsBackground = true, Name = "printer-status" }.Start();
            }
        }

        public Stream Stream { get; }

        public ChannelReader<byte>? Answers => _answers?.Reader;

        public bool Broken => Volatile.Read(ref _broken) != 0;

        public bool EverAnswered { get; set; }

        public void Dispose()
        {
            Volatile.Write(ref _broken, 1);
            try
            {
                Stream.Dispose();
            }
            catch (IOException)
            {
                // Closing a port whose device vanished can fail; it is gone either way.
            }
        }

        private void ReadLoop()
        {
            var buffer = new byte[64];
            Exception? error = null;
            try
            {
                int read;
                while (!Broken && (read = Stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    for (var i = 0; i < read; i++)
                    {
                        _answers!.Writer.TryWrite(buffer[i]);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                error = ex;
            }

            Volatile.Write(ref _broken, 1);
            _answers!.Writer.TryComplete(error);
        }
    }
}

/// <summary>The printer's simulator: each job's exact bytes become <c>&lt;id&gt;.escpos</c> in a folder; its status is settable.</summary>
public sealed class FolderPrinterLink : IPrinterLink
{
    private readonly string _directory;

    public FolderPrinterLink(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <summary>What the simulated printer answers; <see cref="PrinterStatus.Ready"/> unless a test says otherwise.</summary>
    public PrinterStatus Status { get; set; } = PrinterStatus.Ready;

    public ValueTask<PrinterStatus> QueryStatusAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Status);

    public async ValueTask WriteAsync(PrintJob job, CancellationToken cancellationToken)
    {
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(_directory, job.ResultId + ".escpos"), job.Bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new HardwareException($"Simulated printer folder {_directory} cannot be written: {ex.Message}", ex);
        }
    }

    public void Dispose()
    {
    }
}
