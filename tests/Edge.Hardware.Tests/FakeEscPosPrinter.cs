using System.Text;
using System.Threading.Channels;

namespace Edge.Hardware.Tests;

/// <summary>One line of text as the printer would print it, with the modes in force when its LF arrived.</summary>
public sealed record DecodedLine(string Text, byte Size, bool Bold, bool Centred, bool Inverted);

/// <summary>A GS v 0 raster image: <see cref="WidthBytes"/> x 8 dots by <see cref="Height"/>, MSB leftmost.</summary>
public sealed record DecodedRaster(int WidthBytes, int Height, byte[] Data)
{
    public int InkDots => Data.Sum(b => System.Numerics.BitOperations.PopCount(b));
}

/// <summary>Everything between an initialise (ESC @) and a cut (GS V).</summary>
public sealed record DecodedSlip(IReadOnlyList<DecodedLine> Lines, IReadOnlyList<DecodedRaster> Rasters, IReadOnlyList<string> QrCodes, int QrPrints, bool ChineseMode)
{
    public IEnumerable<string> Texts => Lines.Select(l => l.Text);
}

/// <summary>
/// The printer end of a pty pair: decodes the ESC/POS stream the way a 58 mm thermal printer reads it (text and its modes,
/// GS v 0 rasters, GS ( k QR codes, GS V cuts) and answers DLE EOT with the status it is given. A command it does not
/// know fails the test, so the encoder cannot drift into bytes a printer would misread.
/// </summary>
public sealed class FakeEscPosPrinter : IDisposable
{
    private readonly FileStream _input;
    private readonly FileStream _output;
    private readonly Channel<DecodedSlip> _slips = Channel.CreateUnbounded<DecodedSlip>();
    private readonly Thread _thread;
    private volatile PrinterStatus _status = PrinterStatus.Ready;
    private volatile bool _answers = true;
    private int _statusRequests;
    private int _slipsUntilPaperOut = -1;

    public FakeEscPosPrinter(string path)
    {
        _input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        _output = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        _thread = new Thread(Run) { IsBackground = true, Name = "fake-escpos-printer" };
        _thread.Start();
    }

    /// <summary>What DLE EOT answers say.</summary>
    public PrinterStatus Status { get => _status; set => _status = value; }

    /// <summary>False: a printer without real-time status, silent to DLE EOT.</summary>
    public bool Answers { get => _answers; set => _answers = value; }

    public int StatusRequests => Volatile.Read(ref _statusRequests);

    /// <summary>The roll ends at the cut of the n-th slip from now: status says paper out from then on.</summary>
    public void RunOutOfPaperAfter(int slips) => Volatile.Write(ref _slipsUntilPaperOut, slips);

    /// <summary>Cut slips, in order; completes when the pty goes away, faulted if the stream held an unknown command.</summary>
    public ChannelReader<DecodedSlip> Slips => _slips.Reader;

    /// <summary>The next cut slip, or a failure after a generous guard so a broken queue cannot hang the run.</summary>
    public async Task<DecodedSlip> NextSlipAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _slips.Reader.ReadAsync(guard.Token);
    }

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
    }

    private void Run()
    {
        try
        {
            using var bytes = new BufferedStream(_input, 4096);
            var decoder = new Decoder(bytes, Answer);
            while (decoder.NextSlip() is { } slip)
            {
                // Before anything after the cut is read, so the status request behind this slip already sees it.
                if (Interlocked.Decrement(ref _slipsUntilPaperOut) == 0)
                {
                    _status = PrinterStatus.Ready with { Offline = true, PaperOut = true };
                }

                _slips.Writer.TryWrite(slip);
            }

            _slips.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pty went away: the printer was unplugged.
            _slips.Writer.TryComplete();
        }
        catch (InvalidDataException ex)
        {
            _slips.Writer.TryComplete(ex);
        }
    }

    private void Answer(byte n)
    {
        Interlocked.Increment(ref _statusRequests);
        if (!_answers || n is < 1 or > 4)
        {
            return;
        }

        _output.Write([EscPosStatus.Encode(_status)[n - 1]]);
        _output.Flush();
    }

    private sealed class Decoder(Stream stream, Action<byte> answerStatus)
    {
        private const byte Dle = 0x10, Esc = 0x1B, Fs = 0x1C, Gs = 0x1D, Lf = 0x0A;

        /// <summary>Null at the end of the stream.</summary>
        public DecodedSlip? NextSlip()
        {
            var lines = new List<DecodedLine>();
            var rasters = new List<DecodedRaster>();
            var qr = new List<string>();
            var qrPrints = 0;
            var text = new List<byte>();
            var (size, bold, centred, inverted, chinese) = ((byte)0, false, false, false, false);
            while (true)
            {
                var b = Next();
                if (b < 0)
                {
                    return null;
                }

                switch (b)
                {
                    case Dle:
                        Expect(0x04, "DLE");
                        answerStatus(NextByte());
                        break;
                    case Esc:
                        switch (NextByte())
                        {
                            case (byte)'@':
                                (size, bold, centred, inverted, chinese) = (0, false, false, false, false);
                                break;
                            case (byte)'a':
                                centred = NextByte() == 1;
                                break;
                            case (byte)'E':
                                bold = NextByte() == 1;
                                break;
                            case (byte)'t':
                                NextByte();
                                break;
                            case var c:
                                throw new InvalidDataException($"Unknown ESC {c:X2}");
                        }

                        break;
                    case Fs:
                        chinese = NextByte() switch
                        {
                            (byte)'&' => true,
                            (byte)'.' => false,
                            var c => throw new InvalidDataException($"Unknown FS {c:X2}"),
                        };
                        break;
                    case Gs:
                        switch (NextByte())
                        {
                            case (byte)'!':
                                size = NextByte();
                                break;
                            case (byte)'B':
                                inverted = NextByte() == 1;
                                break;
                            case (byte)'v':
                                Expect((byte)'0', "GS v");
                                NextByte();
                                var widthBytes = NextByte() | (NextByte() << 8);
                                var height = NextByte() | (NextByte() << 8);
                                rasters.Add(new DecodedRaster(widthBytes, height, Take(widthBytes * height)));
                                break;
                            case (byte)'(':
                                Expect((byte)'k', "GS (");
                                var length = NextByte() | (NextByte() << 8);
                                var payload = Take(length);
                                if (payload is [49, 80, 48, ..])
                                {
                                    qr.Add(Encoding.ASCII.GetString(payload, 3, payload.Length - 3));
                                }
                                else if (payload is [49, 81, 48])
                                {
                                    qrPrints++;
                                }

                                break;
                            case (byte)'V':
                                if (NextByte() is 65 or 66)
                                {
                                    NextByte();
                                }

                                return new DecodedSlip(lines, rasters, qr, qrPrints, chinese);
                            case var c:
                                throw new InvalidDataException($"Unknown GS {c:X2}");
                        }

                        break;
                    case Lf:
                        var line = (chinese ? Edge.Hardware.EscPos.Gb18030 : Encoding.ASCII).GetString([.. text]);
                        lines.Add(new DecodedLine(line, size, bold, centred, inverted));
                        text.Clear();
                        break;
                    case < 0x20:
                        throw new InvalidDataException($"Unknown control byte {b:X2}");
                    default:
                        text.Add((byte)b);
                        break;
                }
            }
        }

        private int Next() => stream.ReadByte();

        private byte NextByte() => Next() is var b and >= 0 ? (byte)b : throw new EndOfStreamException();

        private void Expect(byte value, string after)
        {
            if (NextByte() is var b && b != value)
            {
                throw new InvalidDataException($"{after} followed by {b:X2}");
            }
        }

        private byte[] Take(int count)
        {
            var data = new byte[count];
            stream.ReadExactly(data);
            return data;
        }
    }
}
