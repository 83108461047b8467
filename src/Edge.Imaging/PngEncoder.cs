using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Edge.Imaging;

/// <summary>Writes 8-bit gray and 8-bit RGB PNGs (display images and heatmap overlays).</summary>
public static class PngEncoder
{
    public static byte[] Encode(Gray8Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Encode(image.Width, image.Height, colorType: 0, channels: 1, image.Pixels);
    }

    public static byte[] Encode(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Encode(image.Width, image.Height, colorType: 2, channels: 3, image.Pixels);
    }

    private static byte[] Encode(int width, int height, byte colorType, int channels, byte[] pixels)
    {
        using var output = new MemoryStream();
        output.Write(PngDecoder.Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;
        header[9] = colorType;
        WriteChunk(output, "IHDR"u8, header);
        WriteChunk(output, "IDAT"u8, CompressRows(width, height, channels, pixels));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static byte[] CompressRows(int width, int height, int channels, byte[] pixels)
    {
        var stride = width * channels;
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var line = new byte[stride + 1];
            ReadOnlySpan<byte> previous = new byte[stride];
            for (var y = 0; y < height; y++)
            {
                var row = pixels.AsSpan(y * stride, stride);
                PaethRow(row, previous, channels, line);
                zlib.Write(line);
                previous = row;
            }
        }

        return compressed.ToArray();
    }

    /// <summary>
    /// Paeth on every row: one pass, and for radiographs and overlays it compresses within a few percent of trying all five
    /// filters per row, at a fraction of the time (overlays are written on the screening path).
    /// </summary>
    private static void PaethRow(ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, byte[] line)
    {
        line[0] = 4;
        for (var i = 0; i < bpp; i++)
        {
            line[i + 1] = (byte)(row[i] - previous[i]);
        }

        for (var i = bpp; i < row.Length; i++)
        {
            line[i + 1] = (byte)(row[i] - PngDecoder.Paeth(row[i - bpp], previous[i], previous[i - bpp]));
        }
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);

        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        output.Write(word);
    }
}
