using System.Text;
using Edge.Domain;

namespace Edge.Hardware;

/// <summary>
/// A slip as ESC/POS bytes for a 58 mm printer (384 dots, Font A 12 x 24): text sizes, emphasis, raster score bar and thumbnail,
/// a QR code (GS ( k) and a partial cut. Chinese goes out in GB18030, which Chinese thermal printers take in their Chinese mode.
/// </summary>
public static class EscPos
{
    public const int PaperDots = 384;

    private const byte Esc = 0x1B;
    private const byte Gs = 0x1D;
    private const byte Fs = 0x1C;
    private const byte Lf = 0x0A;
    private const int BarHeight = 24;

    /// <summary>GB18030; the provider is part of .NET (System.Text.Encoding.CodePages is in the shared framework), no package.</summary>
    public static Encoding Gb18030 { get; } = CodePagesEncodingProvider.Instance.GetEncoding(54936)
        ?? throw new PlatformNotSupportedException("GB18030 (code page 54936) is not available.");

    public static byte[] Encode(Slip slip)
    {
        var chinese = slip.Language == SlipLanguage.Chinese;
        var text = chinese ? Gb18030 : Encoding.ASCII;
        var bytes = new List<byte>(4096) { Esc, (byte)'@' };

        // Chinese mode on for GB18030 double-byte text; off elsewhere so a Chinese-mode default does not garble ASCII.
        bytes.AddRange(chinese ? [Fs, (byte)'&'] : [Fs, (byte)'.', Esc, (byte)'t', 0]);
        foreach (var block in slip.Blocks)
        {
            switch (block)
            {
                case SlipBlock.Text t:
                    bytes.AddRange([Esc, (byte)'a', t.Centred ? (byte)1 : (byte)0]);
                    var size = t.Size switch { SlipTextSize.Large => (byte)0x11, SlipTextSize.Tall => (byte)0x01, _ => (byte)0x00 };
                    if (size != 0)
                    {
                        bytes.AddRange([Gs, (byte)'!', size]);
                    }

                    if (t.Bold)
                    {
                        bytes.AddRange([Esc, (byte)'E', 1]);
                    }

                    if (t.Inverted)
                    {
                        bytes.AddRange([Gs, (byte)'B', 1]);
                    }

                    bytes.AddRange(text.GetBytes(t.Value));
                    bytes.Add(Lf);
                    if (t.Inverted)
                    {
                        bytes.AddRange([Gs, (byte)'B', 0]);
                    }

                    if (t.Bold)
                    {
                        bytes.AddRange([Esc, (byte)'E', 0]);
                    }

                    if (size != 0)
                    {
                        bytes.AddRange([Gs, (byte)'!', 0]);
                    }

                    break;
                case SlipBlock.Rule:
                    bytes.AddRange([Esc, (byte)'a', 0]);
                    bytes.AddRange(Encoding.ASCII.GetBytes(new string('-', SlipComposer.Width)));
                    bytes.Add(Lf);
                    break;
                case SlipBlock.ScoreBar bar:
                    bytes.AddRange([Esc, (byte)'a', 0]);
                    bytes.AddRange(Raster(ScoreBarDots(bar), PaperDots, BarHeight));
                    break;
                case SlipBlock.Picture picture:
                    bytes.AddRange([Esc, (byte)'a', 1]);
                    bytes.AddRange(Raster(PictureDots(picture), picture.Width, picture.Height));
                    bytes.AddRange([Esc, (byte)'a', 0]);
                    break;
                case SlipBlock.QrCode qr:
                    bytes.AddRange([Esc, (byte)'a', 1]);
                    bytes.AddRange(QrCode(qr.Data));
                    bytes.Add(Lf);
                    bytes.AddRange([Esc, (byte)'a', 0]);
                    break;
            }
        }

        // Feed past the tear bar and cut partially, so the slip stays on the roll until torn off.
        bytes.AddRange([Gs, (byte)'V', 66, 0]);
        return [.. bytes];
    }

    /// <summary>GS ( k, model 2: module size 6 dots, error correction M, store the data, print it.</summary>
    public static byte[] QrCode(string data)
    {
        var payload = Encoding.ASCII.GetBytes(data);
        var stored = payload.Length + 3;
        return
        [
            Gs, (byte)'(', (byte)'k', 4, 0, 49, 65, 50, 0,
            Gs, (byte)'(', (byte)'k', 3, 0, 49, 67, 6,
            Gs, (byte)'(', (byte)'k', 3, 0, 49, 69, 49,
            Gs, (byte)'(', (byte)'k', (byte)(stored & 0xFF), (byte)(stored >> 8), 49, 80, 48, .. payload,
            Gs, (byte)'(', (byte)'k', 3, 0, 49, 81, 48,
        ];
    }

    /// <summary>
    /// The score bar, one bool per dot: an outline, filled to the score, and a threshold mark that stands out above and
    /// below the bar so it reads even when the fill covers it.
    /// </summary>
    public static bool[,] ScoreBarDots(SlipBlock.ScoreBar bar)
    {
        const int left = 8, right = PaperDots - 8, top = 4, bottom = BarHeight - 5;
        var dots = new bool[BarHeight, PaperDots];
        var fill = left + (int)Math.Round(Math.Clamp(bar.Score, 0, 1) * (right - left));
        var mark = left + (int)Math.Round(Math.Clamp(bar.Threshold, 0, 1) * (right - left));
        for (var y = 0; y < BarHeight; y++)
        {
            for (var x = 0; x < PaperDots; x++)
            {
                var inBar = y >= top && y <= bottom && x >= left && x <= right;
                var edge = inBar && (y == top || y == bottom || x == left || x == right);

                // The mark is a tick above and below, black across the empty part of the bar and a white gap in the filled part.
                dots[y, x] = Math.Abs(x - mark) <= 1 ? !inBar || edge || x > fill : edge || (inBar && x <= fill);
            }
        }

        return dots;
    }

    /// <summary>
    /// A grayscale picture as printer dots, Floyd-Steinberg dithered: thermal paper has only black and white, and error
    /// diffusion keeps the lung fields and the heatmap's shading readable at 8 dots per millimetre.
    /// </summary>
    public static bool[,] PictureDots(SlipBlock.Picture picture)
    {
        ArgumentNullException.ThrowIfNull(picture);
        if (picture.Width is <= 0 or > PaperDots || picture.Height <= 0 || picture.Gray.Length != picture.Width * picture.Height)
        {
            throw new ArgumentException($"A slip picture is 1..{PaperDots} dots wide with one gray byte per dot.", nameof(picture));
        }

        var (width, height) = (picture.Width, picture.Height);
        var error = new float[2, width + 2];
        var dots = new bool[height, width];
        for (var y = 0; y < height; y++)
        {
            var (row, next) = (y % 2, (y + 1) % 2);
            Array.Clear(error, next * (width + 2), width + 2);
            for (var x = 0; x < width; x++)
            {
                var value = picture.Gray[(y * width) + x] + error[row, x + 1];
                var ink = value < 128;
                dots[y, x] = ink;
                var e = value - (ink ? 0 : 255);
                error[row, x + 2] += e * 7 / 16;
                error[next, x] += e * 3 / 16;
                error[next, x + 1] += e * 5 / 16;
                error[next, x + 2] += e * 1 / 16;
            }
        }

        return dots;
    }

    /// <summary>GS v 0: a 1-bit raster image, most significant bit leftmost.</summary>
    private static byte[] Raster(bool[,] dots, int width, int height)
    {
        var rowBytes = (width + 7) / 8;
        var bytes = new byte[8 + rowBytes * height];
        bytes[0] = Gs;
        bytes[1] = (byte)'v';
        bytes[2] = (byte)'0';
        bytes[3] = 0;
        bytes[4] = (byte)(rowBytes & 0xFF);
        bytes[5] = (byte)(rowBytes >> 8);
        bytes[6] = (byte)(height & 0xFF);
        bytes[7] = (byte)(height >> 8);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                if (dots[y, x])
                {
                    bytes[8 + y * rowBytes + x / 8] |= (byte)(0x80 >> (x % 8));
                }
            }
        }

        return bytes;
    }
}
