using System.IO.Ports;
using Edge.Domain;
using Edge.Imaging;

namespace Edge.Hardware;

/// <summary>A slip printer that remembers the last slip, so the button's long press can print it again.</summary>
public abstract class SlipPrinter : ISlipPrinter, IDisposable
{
    private Slip? _last;

    public Slip? LastSlip => Volatile.Read(ref _last);

    public async ValueTask PrintAsync(Slip slip, CancellationToken cancellationToken)
    {
        // Remembered before printing: a slip lost to a jam is exactly the one to reprint.
        Volatile.Write(ref _last, slip);
        await WriteAsync(slip, EscPos.Encode(slip), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prints the last slip again; false when nothing was printed since start.</summary>
    public async ValueTask<bool> ReprintLastAsync(CancellationToken cancellationToken)
    {
        if (LastSlip is not { } slip)
        {
            return false;
        }

        await PrintAsync(slip, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    protected abstract ValueTask WriteAsync(Slip slip, byte[] escPos, CancellationToken cancellationToken);
}

/// <summary>ESC/POS to a printer behind a stream: a serial port (UART or USB-serial) or a device file such as /dev/usb/lp0.</summary>
public sealed class EscPosPrinter(Stream stream) : SlipPrinter
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Opens a tty as a serial port (8N1 at the given rate); any other path as a device file.</summary>
    /// <exception cref="HardwareException">The port or file cannot be opened.</exception>
    public static EscPosPrinter Open(string path, int baudRate)
    {
        try
        {
            if (Path.GetFileName(path).StartsWith("tty", StringComparison.Ordinal) || Path.GetFileName(path).StartsWith("serial", StringComparison.Ordinal))
            {
                var port = new SerialPort(path, baudRate, Parity.None, 8, StopBits.One) { WriteTimeout = 5000, Handshake = Handshake.None };
                port.Open();
                return new EscPosPrinter(port.BaseStream);
            }

            return new EscPosPrinter(new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            throw new HardwareException($"Slip printer {path} cannot be opened: {ex.Message}", ex);
        }
    }

    public override void Dispose()
    {
        stream.Dispose();
        _gate.Dispose();
        base.Dispose();
    }

    protected override async ValueTask WriteAsync(Slip slip, byte[] escPos, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(escPos, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The printer's simulator: each slip becomes <c>&lt;id&gt;.escpos</c> (the exact bytes) and <c>&lt;id&gt;.txt</c> (its text).</summary>
public sealed class FileSlipPrinter : SlipPrinter
{
    private readonly string _directory;

    public FileSlipPrinter(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    protected override async ValueTask WriteAsync(Slip slip, byte[] escPos, CancellationToken cancellationToken)
    {
        await File.WriteAllBytesAsync(Path.Combine(_directory, slip.ResultId + ".escpos"), escPos, cancellationToken).ConfigureAwait(false);
        await File.WriteAllLinesAsync(Path.Combine(_directory, slip.ResultId + ".txt"), slip.Lines, cancellationToken).ConfigureAwait(false);
        await File.WriteAllBytesAsync(Path.Combine(_directory, slip.ResultId + ".png"), PngEncoder.Encode(SlipPreview.Render(slip)), cancellationToken).ConfigureAwait(false);
    }
}
