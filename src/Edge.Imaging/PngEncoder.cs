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
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var candidates = new byte[5][];
            for (var f = 0; f < candidates.Length; f++)
            {
                candidates[f] = new byte[stride + 1];
            }

            ReadOnlySpan<byte> previous = new byte[stride];
            for (var y = 0; y < height; y++)
            {
                var row = pixels.AsSpan(y * stride, stride);
                zlib.Write(BestFilteredRow(row, previous, channels, candidates));
                previous = row;
            }
        }

        return compressed.ToArray();
    }

    /// <summary>Picks the filter with the smallest sum of absolute signed residuals, the heuristic the PNG spec recommends.</summary>
    private static byte[] BestFilteredRow(ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, byte[][] candidates)
    {
        var best = candidates[0];
        var bestScore = long.MaxValue;
        for (var filter = 0; filter < candidates.Length; filter++)
        {
            var line = candidates[filter];
            line[0] = (byte)filter;
            long score = 0;
            for (var i = 0; i < row.Length; i++)
            {
                var left = i >= bpp ? row[i - bpp] : (byte)0;
                var upLeft = i >= bpp ? previous[i - bpp] : (byte)0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => previous[i],
                    3 => (left + previous[i]) >> 1,
                    _ => PngDecoder.Paeth(left, previous[i], upLeft),
                };
                var residual = (byte)(row[i] - predictor);
                line[i + 1] = residual;
                score += Math.Abs((int)(sbyte)residual);
            }

            if (score < bestScore)
            {
                bestScore = score;
                best = line;
            }
        }

        return best;
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
