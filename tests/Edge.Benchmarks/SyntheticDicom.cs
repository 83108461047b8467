using System.Buffers.Binary;
using System.Text;
using Edge.Imaging;

namespace Edge.Benchmarks;

/// <summary>
/// Writes a plain Explicit VR Little Endian DX image, as a 16-bit flat-panel console sends it: a real chest radiograph
/// upscaled to the requested size with detector-like noise, so decoding, checks and preprocessing see realistic data.
/// </summary>
public static class SyntheticDicom
{
    public static void Write(string path, string sourcePng, int size, int seed)
    {
        var source = PngDecoder.Decode(File.ReadAllBytes(sourcePng)).Pixels;
        var random = new Random(seed);
        var pixels = new byte[size * size * 2];
        for (var y = 0; y < size; y++)
        {
            var sy = Math.Min(source.Height - 1.0001, y * (source.Height - 1.0) / (size - 1));
            var y0 = (int)sy;
            var fy = sy - y0;
            for (var x = 0; x < size; x++)
            {
                var sx = Math.Min(source.Width - 1.0001, x * (source.Width - 1.0) / (size - 1));
                var x0 = (int)sx;
                var fx = sx - x0;
                var top = (source.Pixels[(y0 * source.Width) + x0] * (1 - fx)) + (source.Pixels[(y0 * source.Width) + x0 + 1] * fx);
                var bottom = (source.Pixels[((y0 + 1) * source.Width) + x0] * (1 - fx)) + (source.Pixels[((y0 + 1) * source.Width) + x0 + 1] * fx);
                var value = (((top * (1 - fy)) + (bottom * fy)) * 257) + (random.NextDouble() * 400) - 200;
                BinaryPrimitives.WriteUInt16LittleEndian(pixels.AsSpan(((y * size) + x) * 2), (ushort)Math.Clamp(value, 0, 65535));
            }
        }

        var uid = $"2.25.{(uint)seed}{size}";
        using var file = File.Create(path);
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var meta = new MemoryStream();
        Element(meta, 0x0002, 0x0001, "OB", [0, 1]);
        Element(meta, 0x0002, 0x0002, "UI", Ui("1.2.840.10008.5.1.4.1.1.1.1"));
        Element(meta, 0x0002, 0x0003, "UI", Ui(uid));
        Element(meta, 0x0002, 0x0010, "UI", Ui("1.2.840.10008.1.2.1"));
        Element(file, 0x0002, 0x0000, "UL", BitConverter.GetBytes((uint)meta.Length));
        meta.WriteTo(file);
        Element(file, 0x0008, 0x0016, "UI", Ui("1.2.840.10008.5.1.4.1.1.1.1"));
        Element(file, 0x0008, 0x0018, "UI", Ui(uid));
        Element(file, 0x0008, 0x0060, "CS", Text("DX"));
        Element(file, 0x0018, 0x0015, "CS", Text("CHEST"));
        Element(file, 0x0018, 0x5101, "CS", Text("PA"));
        Element(file, 0x0028, 0x0002, "US", U16(1));
        Element(file, 0x0028, 0x0004, "CS", Text("MONOCHROME2"));
        Element(file, 0x0028, 0x0010, "US", U16(size));
        Element(file, 0x0028, 0x0011, "US", U16(size));
        Element(file, 0x0028, 0x0100, "US", U16(16));
        Element(file, 0x0028, 0x0101, "US", U16(16));
        Element(file, 0x0028, 0x0102, "US", U16(15));
        Element(file, 0x0028, 0x0103, "US", U16(0));
        Element(file, 0x7FE0, 0x0010, "OW", pixels);
    }

    private static byte[] U16(int value) => BitConverter.GetBytes((ushort)value);

    private static byte[] Ui(string uid) => Pad(Encoding.ASCII.GetBytes(uid), 0);

    private static byte[] Text(string text) => Pad(Encoding.ASCII.GetBytes(text), (byte)' ');

    private static byte[] Pad(byte[] value, byte pad) => value.Length % 2 == 0 ? value : [.. value, pad];

    private static void Element(Stream stream, ushort group, ushort element, string vr, byte[] value)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(header, group);
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], element);
        header[4] = (byte)vr[0];
        header[5] = (byte)vr[1];
        if (vr is "OB" or "OW" or "SQ" or "UN" or "UT")
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)value.Length);
            stream.Write(header);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)value.Length);
            stream.Write(header[..8]);
        }

        stream.Write(value);
    }
}
