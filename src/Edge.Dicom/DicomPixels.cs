using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Edge.Domain;

namespace Edge.Dicom;

/// <summary>
/// Turns GDCM's decoded pixel buffer (native little-endian, all frames) into first-frame gray values in
/// modality units: bits stored masked and sign-extended, then the Modality LUT; colour becomes BT.601 luma.
/// </summary>
internal static class DicomPixels
{
    public static (GrayImage Image, int BitsStored) FirstFrame(gdcm.Image image, gdcm.DataSet dataSet, gdcm.TransferSyntax transferSyntax)
    {
        var columns = (int)image.GetDimension(0);
        var rows = (int)image.GetDimension(1);
        if (columns <= 0 || rows <= 0 || (long)columns * rows > 100_000_000)
        {
            throw new ImageReadException($"DICOM image has invalid dimensions {columns} x {rows}.");
        }

        var photometric = DicomText.Trim(image.GetPhotometricInterpretation().GetString());
        if (photometric == "PALETTE COLOR")
        {
            image = ApplyPalette(image);
        }

        var format = image.GetPixelFormat();
        var samples = (int)format.GetSamplesPerPixel();
        var scalar = format.GetScalarType();
        if (scalar is gdcm.PixelFormat.ScalarType.SINGLEBIT or gdcm.PixelFormat.ScalarType.UNKNOWN || samples is not (1 or 3))
        {
            throw new ImageReadException($"DICOM pixel format is not supported ({samples} samples of {format.GetBitsAllocated()} bits).");
        }

        var length = image.GetBufferLength();
        if (length is 0 or > int.MaxValue)
        {
            throw new ImageReadException("DICOM pixel data is missing or too large.");
        }

        // The decoded bytes (8 MB for 2048 x 2048 at 16 bits) only live until they are turned into gray values: a pooled
        // buffer is reused image after image instead of a fresh large-object-heap array each time.
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            if (!image.GetBuffer(buffer))
            {
                throw new ImageReadException(transferSyntax.IsEncapsulated()
                    ? $"DICOM pixel data in transfer syntax {DicomText.Trim(transferSyntax.GetString())} cannot be decoded (unsupported or damaged compression)."
                    : "DICOM pixel data is truncated or damaged.");
            }

            var frameSamples = (long)columns * rows * samples;
            var frames = image.GetNumberOfDimensions() > 2 ? Math.Max(1, image.GetDimension(2)) : 1;
            var bytesPerSample = (int)((long)length / (frameSamples * frames));
            if (bytesPerSample is not (1 or 2 or 4 or 8) || frameSamples * bytesPerSample > (long)length)
            {
                throw new ImageReadException("DICOM pixel data does not match its rows, columns and bits allocated.");
            }

            var layout = new SampleLayout(bytesPerSample, scalar, format.GetBitsStored(), format.GetHighBit());
            var frame = buffer.AsSpan(0, (int)(frameSamples * bytesPerSample));
            var pixels = samples == 1
                ? ModalityLut.Read(dataSet, layout.IsSigned).Apply(Samples(frame, layout))
                : ColourToLuma(Samples(frame, layout), columns * rows, photometric, image.GetPlanarConfiguration() == 1);
            return (new GrayImage(columns, rows, pixels), layout.BitsStored);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Stored values: bits outside Bits Stored cleared (overlays, garbage), signed values sign-extended.</summary>
    internal static float[] Samples(ReadOnlySpan<byte> frame, SampleLayout layout)
    {
        if (layout.BytesPerSample == 2 && layout.Scalar is not (gdcm.PixelFormat.ScalarType.FLOAT32 or gdcm.PixelFormat.ScalarType.FLOAT64) && BitConverter.IsLittleEndian)
        {
            return Samples16(MemoryMarshal.Cast<byte, ushort>(frame), layout.BitsStored, layout.HighBit, layout.IsSigned);
        }

        var count = frame.Length / layout.BytesPerSample;
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var bytes = frame.Slice(i * layout.BytesPerSample, layout.BytesPerSample);
            values[i] = layout.Scalar switch
            {
                gdcm.PixelFormat.ScalarType.FLOAT32 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
                gdcm.PixelFormat.ScalarType.FLOAT64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes),
                _ => layout.Integer(bytes),
            };
        }

        return values;
    }

    /// <summary>
    /// The radiograph case (12 to 16 bits in 2 bytes) in one tight loop: the same masking, shift and sign extension as
    /// <see cref="SampleLayout.Integer"/>, worked out once instead of per sample (a 2048 x 2048 image has 4 million).
    /// </summary>
    private static float[] Samples16(ReadOnlySpan<ushort> stored, int bitsStored, int highBit, bool signed)
    {
        var bits = Math.Clamp(bitsStored, 1, 16);
        var shift = Math.Clamp(highBit + 1 - bits, 0, 16 - bits);
        var mask = (1 << bits) - 1;
        var signBit = 1 << (bits - 1);
        var values = new float[stored.Length];
        if (signed)
        {
            for (var i = 0; i < stored.Length; i++)
            {
                // (v ^ s) - s sign-extends a value whose sign bit is s.
                values[i] = (((stored[i] >> shift) & mask) ^ signBit) - signBit;
            }
        }
        else
        {
            for (var i = 0; i < stored.Length; i++)
            {
                values[i] = (stored[i] >> shift) & mask;
            }
        }

        return values;
    }

    private static float[] ColourToLuma(float[] samples, int pixelCount, string photometric, bool planar)
    {
        var gray = new float[pixelCount];
        for (var i = 0; i < pixelCount; i++)
        {
            var (a, b, c) = planar
                ? (samples[i], samples[pixelCount + i], samples[(2 * pixelCount) + i])
                : (samples[i * 3], samples[(i * 3) + 1], samples[(i * 3) + 2]);
            gray[i] = photometric switch
            {
                // Y of YCbCr already is BT.601 luma; partial (video) range is 16..235.
                "YBR_FULL" or "YBR_FULL_422" => a,
                "YBR_PARTIAL_422" or "YBR_PARTIAL_420" => (a - 16f) * 255f / 219f,
                _ => (0.299f * a) + (0.587f * b) + (0.114f * c),
            };
        }

        return gray;
    }

    private static gdcm.Image ApplyPalette(gdcm.Image image)
    {
        var filter = new gdcm.ImageApplyLookupTable();
        filter.SetInput(image);
        if (!filter.Apply())
        {
            throw new ImageReadException("DICOM palette colour image cannot be converted (invalid palette).");
        }

        return filter.GetOutput();
    }

    internal readonly record struct SampleLayout(int BytesPerSample, gdcm.PixelFormat.ScalarType Scalar, int BitsStored, int HighBit)
    {
        public bool IsSigned => Scalar is gdcm.PixelFormat.ScalarType.INT8 or gdcm.PixelFormat.ScalarType.INT12
            or gdcm.PixelFormat.ScalarType.INT16 or gdcm.PixelFormat.ScalarType.INT32 or gdcm.PixelFormat.ScalarType.INT64;

        public long Integer(ReadOnlySpan<byte> bytes)
        {
            ulong raw = BytesPerSample switch
            {
                1 => bytes[0],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
            };

            var bits = Math.Clamp(BitsStored, 1, BytesPerSample * 8);
            if (bits < 64)
            {
                // Stored bits sit at HighBit-BitsStored+1 .. HighBit; normally HighBit = BitsStored-1 and the shift is 0.
                var shift = Math.Clamp(HighBit + 1 - bits, 0, (BytesPerSample * 8) - bits);
                raw = (raw >> shift) & ((1UL << bits) - 1);
                if (IsSigned && (raw & (1UL << (bits - 1))) != 0)
                {
                    return (long)raw - (1L << bits);
                }
            }

            return (long)raw;
        }
    }
}

/// <summary>The Modality LUT: a Modality LUT Sequence when present, otherwise Rescale Slope / Intercept (identity when absent).</summary>
internal sealed class ModalityLut
{
    private readonly double slope = 1;
    private readonly double intercept;
    private readonly LookupTable? table;

    private ModalityLut(double slope, double intercept)
    {
        this.slope = slope;
        this.intercept = intercept;
    }

    private ModalityLut(LookupTable table)
    {
        this.table = table;
    }

    public static ModalityLut Read(gdcm.DataSet dataSet, bool signedPixels)
    {
        if (DicomLut.FirstItem(dataSet, 0x3000) is { } item)
        {
            return new ModalityLut(DicomLut.Read(item, signedPixels, "Modality"));
        }

        var attributes = new DicomAttributes(dataSet);
        var slope = attributes.Decimal(0x0028, 0x1053) ?? 1;
        var intercept = attributes.Decimal(0x0028, 0x1052) ?? 0;
        return new ModalityLut(slope == 0 ? 1 : slope, intercept);
    }

    public float[] Apply(float[] stored)
    {
        if (table is not null)
        {
            for (var i = 0; i < stored.Length; i++)
            {
                stored[i] = table.Map(stored[i]);
            }
        }
        else if (slope != 1 || intercept != 0)
        {
            for (var i = 0; i < stored.Length; i++)
            {
                stored[i] = (float)((stored[i] * slope) + intercept);
            }
        }

        return stored;
    }
}

/// <summary>LUT Descriptor (0028,3002) and LUT Data (0028,3006) of a Modality or VOI LUT Sequence item (PS3.3 C.11.1, C.11.2).</summary>
internal static class DicomLut
{
    /// <summary>The first item of sequence (0028,<paramref name="element"/>), or null when absent or empty.</summary>
    public static gdcm.DataSet? FirstItem(gdcm.DataSet dataSet, ushort element)
    {
        var tag = new gdcm.Tag(0x0028, element);
        if (!dataSet.FindDataElement(tag))
        {
            return null;
        }

        var sequence = dataSet.GetDataElement(tag).GetValueAsSQ();
        return sequence?.GetPointer() is { } items && items.GetNumberOfItems() > 0 ? items.GetItem(1).GetNestedDataSet() : null;
    }

    /// <param name="signedInput">The first mapped value is read as signed (US or SS, like the values the LUT takes).</param>
    /// <param name="kind">"Modality" or "VOI", for the message.</param>
    public static LookupTable Read(gdcm.DataSet item, bool signedInput, string kind)
    {
        // Descriptor: entries (0 means 65536), first mapped value, bits per entry.
        var entries = DicomAttributes.ReadUInt16(item, 0x0028, 0x3002, 0);
        var first = DicomAttributes.ReadUInt16(item, 0x0028, 0x3002, 1);
        var bits = DicomAttributes.ReadUInt16(item, 0x0028, 0x3002, 2);
        var data = DicomAttributes.ReadBytes(item, 0x0028, 0x3006);
        if (entries is null || first is null || data is null)
        {
            throw new ImageReadException($"DICOM {kind} LUT Sequence is incomplete (descriptor or data missing).");
        }

        var count = entries == 0 ? 65536 : entries.Value;
        var table = new float[count];
        if (data.Length >= count * 2)
        {
            for (var i = 0; i < count; i++)
            {
                table[i] = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i * 2));
            }
        }
        else if (data.Length == count || data.Length == count + 1)
        {
            // Some writers pack 8-bit entries one per byte (padded to even length).
            for (var i = 0; i < count; i++)
            {
                table[i] = data[i];
            }
        }
        else
        {
            throw new ImageReadException($"DICOM {kind} LUT data is shorter than its descriptor says.");
        }

        // A descriptor that understates its bits (seen in the wild: 12 declared, 16 used) would clip the output range;
        // the entries themselves are the better witness.
        var declared = bits is >= 1 and <= 16 ? bits.Value : 16;
        var needed = (int)Math.Ceiling(Math.Log2(table.Max() + 1));
        return new LookupTable(signedInput ? (short)first.Value : first.Value, Math.Max(declared, Math.Max(needed, 1)), table);
    }
}
