using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using Edge.Domain;

namespace Edge.Imaging;

/// <summary>
/// Decodes any standard PNG (all colour types, bit depths, filters, Adam7) to gray.
/// Colour becomes BT.601 luma; alpha and transparency are ignored.
/// Values are 0..255 for bit depths up to 8 (low depths scaled up) and 0..65535 for 16-bit.
/// </summary>
public static class PngDecoder
{
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Adam7 pass origins and steps (PNG spec 8.2).
    private static ReadOnlySpan<byte> Adam7StartX => [0, 4, 0, 2, 0, 1, 0];

    private static ReadOnlySpan<byte> Adam7StartY => [0, 0, 4, 0, 2, 0, 1];

    private static ReadOnlySpan<byte> Adam7StepX => [8, 8, 4, 4, 2, 2, 1];

    private static ReadOnlySpan<byte> Adam7StepY => [8, 8, 8, 4, 4, 2, 2];

    public static bool HasSignature(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <exception cref="ImageReadException">The data is not a valid PNG.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> png)
    {
        if (!HasSignature(png))
        {
            throw new ImageReadException("Not a PNG file (signature missing).");
        }

        var header = default(Header);
        var haveHeader = false;
        byte[]? palette = null;
        using var compressed = new MemoryStream();
        var haveEnd = false;

        var offset = Signature.Length;
        while (offset < png.Length)
        {
            if (png.Length - offset < 12)
            {
                throw new ImageReadException("PNG is truncated (incomplete chunk).");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(png[offset..]);
            if (length > int.MaxValue || length > png.Length - offset - 12)
            {
                throw new ImageReadException("PNG is truncated (chunk runs past the end of the file).");
            }

            var typeAndData = png.Slice(offset + 4, 4 + (int)length);
            var storedCrc = BinaryPrimitives.ReadUInt32BigEndian(png[(offset + 8 + (int)length)..]);
            if (Crc32.HashToUInt32(typeAndData) != storedCrc)
            {
                throw new ImageReadException("PNG is corrupt (chunk CRC mismatch).");
            }

            var type = typeAndData[..4];
            var data = typeAndData[4..];
            offset += 12 + (int)length;

            if (!haveHeader && !type.SequenceEqual("IHDR"u8))
            {
                throw new ImageReadException("PNG is corrupt (IHDR is not the first chunk).");
            }

            if (type.SequenceEqual("IHDR"u8))
            {
                header = ParseHeader(data);
                haveHeader = true;
            }
            else if (type.SequenceEqual("PLTE"u8))
            {
                if (data.Length == 0 || data.Length % 3 != 0 || data.Length > 256 * 3)
                {
                    throw new ImageReadException("PNG is corrupt (invalid palette).");
                }

                palette = data.ToArray();
            }
            else if (type.SequenceEqual("IDAT"u8))
            {
                compressed.Write(data);
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                haveEnd = true;
                break;
            }
            else if ((type[0] & 0x20) == 0)
            {
                // Bit 5 of the first letter clear = critical chunk that a decoder must understand.
                throw new ImageReadException("PNG uses an unsupported critical chunk.");
            }
        }

        if (!haveHeader)
        {
            throw new ImageReadException("PNG is truncated (no IHDR chunk).");
        }

        if (!haveEnd)
        {
            throw new ImageReadException("PNG is truncated (no IEND chunk).");
        }

        if (compressed.Length == 0)
        {
            throw new ImageReadException("PNG has no image data (no IDAT chunk).");
        }

        if (header.ColorType == 3 && palette is null)
        {
            throw new ImageReadException("PNG is corrupt (palette image without PLTE chunk).");
        }

        var raw = Inflate(compressed, header.InterlacedDataLength());
        var gray = header.Interlaced ? DecodeAdam7(header, raw, palette) : DecodePass(header, raw, header.Width, header.Height, palette);

        var imageHeader = new ImageHeader
        {
            Format = ImageFormat.Png,
            BitsStored = header.BitDepth == 16 ? 16 : 8,
            Photometric = header.IsColor ? "RGB" : "MONOCHROME2",
        };
        return new DecodedImage(new GrayImage(header.Width, header.Height, gray), imageHeader, PatientIdentity.None);
    }

    private static Header ParseHeader(ReadOnlySpan<byte> data)
    {
        if (data.Length != 13)
        {
            throw new ImageReadException("PNG is corrupt (IHDR has the wrong length).");
        }

        var width = BinaryPrimitives.ReadUInt32BigEndian(data);
        var height = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        ImageLimits.ThrowIfTooLarge("PNG", width, height);
        var header = new Header((int)width, (int)height, data[8], data[9], data[12] == 1);

        var depthAllowed = header.ColorType switch
        {
            0 => header.BitDepth is 1 or 2 or 4 or 8 or 16,
            3 => header.BitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => header.BitDepth is 8 or 16,
            _ => throw new ImageReadException($"PNG has an invalid colour type {header.ColorType}."),
        };
        if (!depthAllowed)
        {
            throw new ImageReadException($"PNG has an invalid bit depth {header.BitDepth} for colour type {header.ColorType}.");
        }

        if (data[10] != 0 || data[11] != 0 || data[12] > 1)
        {
            throw new ImageReadException("PNG uses an unknown compression, filter or interlace method.");
        }

        return header;
    }

    private static byte[] Inflate(MemoryStream compressed, long expectedLength)
    {
        var raw = new byte[expectedLength];
        compressed.Position = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress, leaveOpen: true);
            var read = zlib.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
            if (read < raw.Length)
            {
                throw new ImageReadException("PNG is truncated (image data ends early).");
            }
        }
        catch (InvalidDataException ex)
        {
            throw new ImageReadException("PNG is corrupt (image data does not decompress).", ex);
        }

        return raw;
    }

    private static float[] DecodeAdam7(Header header, byte[] raw, byte[]? palette)
    {
        var gray = new float[header.Width * header.Height];
        var offset = 0;
        for (var pass = 0; pass < 7; pass++)
        {
            var (passWidth, passHeight) = Header.PassSize(header.Width, header.Height, pass);
            if (passWidth == 0 || passHeight == 0)
            {
                continue;
            }

            var length = (long)passHeight * (1 + header.Stride(passWidth));
            var passPixels = DecodePass(header, raw.AsSpan(offset, (int)length), passWidth, passHeight, palette);
            offset += (int)length;
            for (var y = 0; y < passHeight; y++)
            {
                var row = (Adam7StartY[pass] + (y * Adam7StepY[pass])) * header.Width;
                for (var x = 0; x < passWidth; x++)
                {
                    gray[row + Adam7StartX[pass] + (x * Adam7StepX[pass])] = passPixels[(y * passWidth) + x];
                }
            }
        }

        return gray;
    }

    /// <summary>Unfilters one (sub)image in place and converts its rows to gray.</summary>
    private static float[] DecodePass(Header header, Span<byte> data, int width, int height, byte[]? palette)
    {
        var stride = header.Stride(width);
        var bytesPerPixel = Math.Max(1, header.Channels * header.BitDepth / 8);
        var gray = new float[width * height];
        Span<byte> previous = new byte[stride];
        for (var y = 0; y < height; y++)
        {
            var line = data.Slice(y * (stride + 1), stride + 1);
            var row = line[1..];
            Unfilter(line[0], row, previous, bytesPerPixel);
            RowToGray(header, row, gray.AsSpan(y * width, width), palette);
            previous = row;
        }

        return gray;
    }

    private static void Unfilter(byte filter, Span<byte> row, ReadOnlySpan<byte> previous, int bpp)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < row.Length; i++)
                {
                    row[i] += row[i - bpp];
                }

                break;
            case 2:
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] += previous[i];
                }

                break;
            case 3:
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= bpp ? row[i - bpp] : 0;
                    row[i] += (byte)((left + previous[i]) >> 1);
                }

                break;
            case 4:
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= bpp ? row[i - bpp] : (byte)0;
                    var upLeft = i >= bpp ? previous[i - bpp] : (byte)0;
                    row[i] += Paeth(left, previous[i], upLeft);
                }

                break;
            default:
                throw new ImageReadException($"PNG is corrupt (unknown row filter {filter}).");
        }
    }

    internal static byte Paeth(byte a, byte b, byte c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void RowToGray(Header header, ReadOnlySpan<byte> row, Span<float> gray, byte[]? palette)
    {
        var depth = header.BitDepth;
        switch (header.ColorType)
        {
            case 0 when depth < 8:
                {
                    var scale = 255f / ((1 << depth) - 1);
                    for (var x = 0; x < gray.Length; x++)
                    {
                        gray[x] = PackedSample(row, x, depth) * scale;
                    }

                    break;
                }

            case 3:
                for (var x = 0; x < gray.Length; x++)
                {
                    var index = depth == 8 ? row[x] : PackedSample(row, x, depth);
                    if ((index * 3) + 2 >= palette!.Length)
                    {
                        throw new ImageReadException("PNG is corrupt (palette index out of range).");
                    }

                    gray[x] = ImageLimits.Luma(palette[index * 3], palette[(index * 3) + 1], palette[(index * 3) + 2]);
                }

                break;
            default:
                {
                    // Gray, gray+alpha, RGB, RGBA at 8 or 16 bits: sample 0 (and 1, 2 for colour) carry the value.
                    var channels = header.Channels;
                    for (var x = 0; x < gray.Length; x++)
                    {
                        var first = x * channels;
                        gray[x] = header.IsColor
                            ? ImageLimits.Luma(Sample(row, first, depth), Sample(row, first + 1, depth), Sample(row, first + 2, depth))
                            : Sample(row, first, depth);
                    }

                    break;
                }
        }
    }

    private static int Sample(ReadOnlySpan<byte> row, int index, int depth) =>
        depth == 16 ? BinaryPrimitives.ReadUInt16BigEndian(row[(index * 2)..]) : row[index];

    private static int PackedSample(ReadOnlySpan<byte> row, int index, int depth)
    {
        var bit = index * depth;
        var shift = 8 - depth - (bit & 7);
        return (row[bit >> 3] >> shift) & ((1 << depth) - 1);
    }

    private readonly record struct Header(int Width, int Height, byte BitDepth, byte ColorType, bool Interlaced)
    {
        public int Channels => ColorType switch
        {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        };

        public bool IsColor => ColorType is 2 or 3 or 6;

        public int Stride(int width) => (int)((((long)width * Channels * BitDepth) + 7) / 8);

        public long InterlacedDataLength()
        {
            if (!Interlaced)
            {
                return (long)Height * (1 + Stride(Width));
            }

            long total = 0;
            for (var pass = 0; pass < 7; pass++)
            {
                var (w, h) = PassSize(Width, Height, pass);
                if (w > 0 && h > 0)
                {
                    total += (long)h * (1 + Stride(w));
                }
            }

            return total;
        }

        public static (int Width, int Height) PassSize(int width, int height, int pass) =>
            ((width - Adam7StartX[pass] + Adam7StepX[pass] - 1) / Adam7StepX[pass],
             (height - Adam7StartY[pass] + Adam7StepY[pass] - 1) / Adam7StepY[pass]);
    }
}
