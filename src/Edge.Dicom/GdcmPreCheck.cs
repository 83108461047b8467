using System.Buffers.Binary;
using Edge.Dicom.Network;
using Edge.Imaging;

namespace Edge.Dicom;

/// <summary>
/// The semantic half of the check before GDCM: Debian's libgdcm is built with assertions on, and some element shapes,
/// pixel attributes and JPEG headers fail one of them, which calls abort() and takes the whole process down (fuzzing the
/// intake found each class below). Each rule refuses exactly the shape that assertion trips on, found by reading GDCM
/// 3.0's source and confirmed on the library itself; valid images never have these shapes. Each returns null when the
/// input is fine, otherwise a reason naming attributes, never values that could be patient data.
/// </summary>
internal static class GdcmPreCheck
{
    public const uint PixelDataTag = 0x7FE0_0010;
    private const uint UndefinedLength = 0xFFFF_FFFF;

    /// <summary>
    /// Explicit VR element shapes ExplicitDataElement::ReadValue asserts on: an undefined length is read as encapsulated
    /// pixel data (asserted to be (7FE0,0010) in OB or OW) unless the VR is SQ or UN, and Pixel Data may be neither a
    /// sequence nor an undefined-length UN.
    /// </summary>
    public static string? CheckElementShape(uint tag, string vr, uint length)
    {
        var name = $"({tag >> 16:X4},{tag & 0xFFFF:X4})";
        if (tag == PixelDataTag && vr == "SQ" && length != 0)
        {
            return "Pixel Data is encoded as a sequence";
        }

        if (length != UndefinedLength)
        {
            return null;
        }

        if (tag == PixelDataTag)
        {
            return vr is "OB" or "OW" ? null : $"encapsulated Pixel Data has VR {vr}, not OB or OW";
        }

        return vr is "SQ" or "UN" ? null : $"element {name} of VR {vr} has undefined length but is not Pixel Data";
    }

    /// <summary>
    /// Pixel attributes GDCM asserts on: PixelFormat takes only 1, 3 or 4 samples per pixel (we screen 1 or 3), its codecs
    /// assert Bits Stored equals Bits Allocated whenever 8 are allocated and clear unused bits only in 16-bit words, and
    /// the JPEG codec has no decoder for more than 16 bits allocated. Absent attributes take GDCM's defaults and pass.
    /// </summary>
    public static string? CheckPixelAttributes(int? samplesPerPixel, int? bitsAllocated, int? bitsStored, string? transferSyntax)
    {
        if (samplesPerPixel is { } samples && samples is not (1 or 3))
        {
            return $"Samples per Pixel is {samples}, not 1 or 3";
        }

        // GDCM ignores a Bits Stored of 0 or above Bits Allocated (it keeps Bits Allocated); 1 to 7 in 8 bits is what asserts.
        if (bitsAllocated == 8 && bitsStored is >= 1 and < 8)
        {
            return $"Bits Stored is {bitsStored} with 8 Bits Allocated";
        }

        if (IsJpegProcess(transferSyntax) && bitsAllocated > 16)
        {
            return $"Bits Allocated is {bitsAllocated}, more than a JPEG decoder takes (16)";
        }

        if (transferSyntax == RleLossless && CheckRleAttributes(1, 1, bitsAllocated) is { } rle)
        {
            return rle;
        }

        // With fewer bits stored than allocated GDCM clears the unused bits, which it can do only in 16-bit words.
        if (bitsAllocated is { } allocated && allocated is not (8 or 16) && bitsStored >= 1 && bitsStored < allocated)
        {
            return $"Bits Stored is {bitsStored} with {allocated} Bits Allocated";
        }

        return null;
    }

    /// <summary>
    /// Top-level attributes GDCM's image reader reads through its typed Attribute template, which asserts that the
    /// element's VR is the dictionary's (or UN). Their VRs here.
    /// </summary>
    private static readonly Dictionary<uint, string[]> TypedAttributeVrs = new()
    {
        [0x0028_0002] = ["US"], // Samples per Pixel
        [0x0028_0005] = ["US"], // Image Dimensions (ACR-NEMA, retired)
        [0x0028_0006] = ["US"], // Planar Configuration
        [0x0028_0008] = ["IS"], // Number of Frames
        [0x0028_0009] = ["AT"], // Frame Increment Pointer
        [0x0028_0010] = ["US"], // Rows
        [0x0028_0011] = ["US"], // Columns
        [0x0028_0030] = ["DS"], // Pixel Spacing
        [0x0028_0034] = ["IS"], // Pixel Aspect Ratio
        [0x0028_0100] = ["US"], // Bits Allocated
        [0x0028_0101] = ["US"], // Bits Stored
        [0x0028_0102] = ["US"], // High Bit
        [0x0028_0103] = ["US"], // Pixel Representation
        [0x0028_1050] = ["DS"], // Window Center
        [0x0028_1051] = ["DS"], // Window Width
        [0x0028_1052] = ["DS"], // Rescale Intercept
        [0x0028_1053] = ["DS"], // Rescale Slope
        [0x0028_1101] = ["US", "SS"], // palette descriptors
        [0x0028_1102] = ["US", "SS"],
        [0x0028_1103] = ["US", "SS"],
        [0x0018_1164] = ["DS"], // Imager Pixel Spacing
        [0x0020_0032] = ["DS"], // Image Position (Patient)
        [0x0020_0037] = ["DS"], // Image Orientation (Patient)
    };

    /// <summary>A top-level attribute the image reader reads as a typed value must carry its dictionary VR (UN passes, as in GDCM).</summary>
    public static string? CheckAttributeVr(uint tag, string vr) =>
        TypedAttributeVrs.TryGetValue(tag, out var expected) && vr != "UN" && !expected.Contains(vr)
            ? $"({tag >> 16:X4},{tag & 0xFFFF:X4}) has VR {vr}, not {string.Join(" or ", expected)}"
            : null;

    /// <summary>
    /// Recognition Code (0008,0010), retired with ACR-NEMA: when it is present and not empty GDCM reads it as text and
    /// asserts it starts "ACR-NEMA", "ACRNEMA" or "MIPS 2.0"; as a sequence it has no text to read.
    /// </summary>
    public static string? CheckRecognitionCode(string vr, uint length, ReadOnlySpan<byte> start)
    {
        if (length == 0)
        {
            return null;
        }

        if (vr == "SQ" || length == 0xFFFF_FFFF)
        {
            return "Recognition Code (0008,0010) is a sequence";
        }

        return start.StartsWith("ACR-NEMA"u8) || start.StartsWith("ACRNEMA"u8) || start.StartsWith("MIPS 2.0"u8)
            ? null
            : "Recognition Code (0008,0010) is not an ACR-NEMA one";
    }

    /// <summary>
    /// Rows and Columns of an image: GDCM reads encapsulated pixel data without them (it hopes the codestream says) and
    /// then asserts the image fits the transfer syntax; uncompressed, it gives up cleanly, so refusing both is the same.
    /// A compressed image's decoded size comes from Rows and Columns alone, so a few bytes can ask GDCM for gigabytes:
    /// beyond the raster decoders' limit it is refused before any buffer is allocated.
    /// </summary>
    public static string? CheckDimensions(bool hasPixelData, int? rows, int? columns) =>
        !hasPixelData ? null
        : rows is null or 0 || columns is null or 0 ? "Pixel Data without Rows or Columns"
        : (long)rows.Value * columns.Value > ImageLimits.MaxPixels ? $"Image too large ({columns} x {rows} pixels)"
        : null;

    /// <summary>
    /// Bits Allocated and Pixel Representation as GDCM turns them into a scalar type: without Bits Allocated it keeps 8
    /// bits stored in 0 allocated, and signed samples of a width it has no type for (1 bit, or anything but 8, 12, 16,
    /// 32 or 64) fall off the end of its type list; both assert.
    /// </summary>
    public static string? CheckScalarType(bool hasPixelData, int? bitsAllocated, int? pixelRepresentation)
    {
        if (hasPixelData && bitsAllocated is null or 0)
        {
            return "Pixel Data without Bits Allocated";
        }

        return pixelRepresentation is { } representation && representation != 0 && bitsAllocated is not (null or 8 or 12 or 16 or 32 or 64)
            ? $"signed samples of {bitsAllocated} bits"
            : null;
    }

    /// <summary>
    /// Uncompressed Pixel Data of <paramref name="length"/> bytes: GDCM copies a whole image out of it without checking
    /// that it is there (a short one crashed it), and unpacks 12 bits allocated three bytes at a time, asserting the
    /// length divides.
    /// </summary>
    public static string? CheckNativePixelData(long length, int rows, int columns, int samples, int bitsAllocated, int frames)
    {
        if (bitsAllocated == 12)
        {
            return length % 3 == 0 ? null : $"12-bit packed Pixel Data of {length} bytes, not a multiple of 3";
        }

        var bits = (long)rows * columns * Math.Max(samples, 1) * Math.Max(frames, 1) * bitsAllocated;
        var needed = (bits + 7) / 8;
        return length < needed ? $"Pixel Data holds {length} bytes, the image needs {needed}" : null;
    }

    /// <summary>GDCM asserts Planar Configuration is 0 or 1 when it sets it on the image.</summary>
    public static string? CheckPlanarConfiguration(int? planarConfiguration) =>
        planarConfiguration is { } value && value is not (0 or 1) ? $"Planar Configuration is {value}, not 0 or 1" : null;

    /// <summary>
    /// What follows the top-level Pixel Data (<paramref name="trailing"/>, possibly empty). GDCM goes on reading elements
    /// there and asserts when the file ends inside an element header (4 to 7 bytes left) or an element runs past the end;
    /// fewer than 4 bytes, zero padding of at least one header, or well-formed elements are read cleanly.
    /// </summary>
    public static string? CheckAfterPixelData(long trailing, bool allZero, string? malformed)
    {
        if (trailing < 4 || (allZero && trailing >= 8) || malformed is null)
        {
            return null;
        }

        return "bytes after the Pixel Data are not whole data elements";
    }

    public const string RleLossless = "1.2.840.10008.1.2.5";

    /// <summary>
    /// The pixel attributes GDCM's RLE codec asserts on before it decodes: 8, 16 or 32 bits allocated, and a frame that
    /// is not empty (it divides the frame by the segment count).
    /// </summary>
    public static string? CheckRleAttributes(int? rows, int? columns, int? bitsAllocated)
    {
        if (bitsAllocated is not (8 or 16 or 32))
        {
            return $"RLE with {bitsAllocated?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} Bits Allocated, not 8, 16 or 32";
        }

        return rows is null or 0 || columns is null or 0 ? "RLE image with no Rows or Columns" : null;
    }

    /// <summary>
    /// One RLE frame (PS3.5 Annex G) as GDCM's codec reads it, without keeping the output: a 64-byte header whose segment
    /// count is one per byte of a sample (<paramref name="samples"/> x <paramref name="bitsAllocated"/> / 8) and whose
    /// first offset is 64, then each segment from its offset decoding to exactly rows x columns bytes. GDCM asserts when
    /// the first offset is not 64, when a segment decodes to more or fewer bytes, and when a run reads past the frame.
    /// </summary>
    public static string? CheckRleFrame(ReadOnlySpan<byte> frame, int rows, int columns, int samples, int bitsAllocated)
    {
        if (frame.Length < 64)
        {
            return "the RLE header is cut short";
        }

        var segments = BinaryPrimitives.ReadUInt32LittleEndian(frame);
        var expected = samples * (bitsAllocated / 8);
        if (segments != expected)
        {
            return $"the RLE header has {segments} segments, not {expected}";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]) != 64)
        {
            return "the first RLE segment does not start after the header";
        }

        var segmentLength = (long)rows * columns;
        for (var i = 0; i < segments; i++)
        {
            long position = BinaryPrimitives.ReadUInt32LittleEndian(frame[(4 + (4 * i))..]);
            long decoded = 0;
            while (decoded < segmentLength)
            {
                if (position >= frame.Length)
                {
                    return $"RLE segment {i + 1} runs past the end of its frame";
                }

                var control = (sbyte)frame[(int)position++];
                if (control >= 0)
                {
                    // A literal run: the next control + 1 bytes.
                    position += control + 1;
                    decoded += control + 1;
                    if (position > frame.Length)
                    {
                        return $"RLE segment {i + 1} runs past the end of its frame";
                    }
                }
                else if (control != -128)
                {
                    // A replicate run: the next byte, 1 - control times.
                    position++;
                    decoded += 1 - control;
                    if (position > frame.Length)
                    {
                        return $"RLE segment {i + 1} runs past the end of its frame";
                    }
                }
            }

            if (decoded != segmentLength)
            {
                return $"RLE segment {i + 1} decodes to {decoded} bytes, not {segmentLength}";
            }
        }

        return null;
    }

    /// <summary>The JPEG (ISO 10918) transfer syntaxes GDCM's JPEG codec decodes: 1.2.840.10008.1.2.4.50 to .66 and .70.</summary>
    public static bool IsJpegProcess(string? transferSyntax) =>
        transferSyntax is not null
        && transferSyntax.StartsWith("1.2.840.10008.1.2.4.", StringComparison.Ordinal)
        && int.TryParse(transferSyntax.AsSpan("1.2.840.10008.1.2.4.".Length), out var process)
        && process is (>= 50 and <= 66) or 70;

    /// <summary>
    /// The JPEG header GDCM's codec reads (SOI up to the first SOS), as far as it is in <paramref name="codestream"/>.
    /// GDCM asserts on any libjpeg warning while reading it (bytes other than a marker between segments, a JFIF major
    /// version other than 1, an Adobe colour transform it does not know), on component counts it has no colour space for
    /// (only 1 or 3 pass here), on a lossy precision other than 8 or 12, and on a lossless one below 8 or above what
    /// the libjpeg build chosen by <paramref name="bitsAllocated"/> takes.
    /// Anything libjpeg itself refuses with an error (no SOI, bad lengths, unsupported processes) fails cleanly and is
    /// left to it. A header that runs past the bytes given is not judged.
    /// </summary>
    public static string? CheckJpegHeader(ReadOnlySpan<byte> codestream, int? bitsAllocated = 8)
    {
        // GDCM picks its 8, 12 or 16-bit libjpeg build from Bits Allocated.
        var codecBits = bitsAllocated is null or <= 8 ? 8 : bitsAllocated <= 12 ? 12 : 16;
        if (codestream.Length < 2 || codestream[0] != 0xFF || codestream[1] != 0xD8)
        {
            return null;
        }

        var position = 2;
        var components = 0;
        int? adobeTransform = null;
        while (true)
        {
            if (position >= codestream.Length)
            {
                return null;
            }

            // libjpeg skips anything else with a warning ("extraneous bytes before marker"), and GDCM asserts on it.
            if (codestream[position] != 0xFF)
            {
                return "the JPEG header has bytes that are not a marker between its segments";
            }

            // Any number of 0xFF fill bytes may precede a marker code.
            while (position < codestream.Length && codestream[position] == 0xFF)
            {
                position++;
            }

            if (position >= codestream.Length)
            {
                return null;
            }

            var marker = codestream[position++];
            if (marker == 0x00)
            {
                return "the JPEG header has bytes that are not a marker between its segments";
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                // TEM and RSTn stand alone (no length).
                continue;
            }

            if (marker is 0xD8 or 0xD9)
            {
                // A second SOI or an EOI before any scan: libjpeg stops with an error, which GDCM reports cleanly.
                return null;
            }

            if (position + 2 > codestream.Length)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(codestream[position..]);
            if (length < 2 || position + length > codestream.Length)
            {
                return null;
            }

            var segment = codestream.Slice(position + 2, length - 2);
            if (IsStartOfFrame(marker))
            {
                if (segment.Length < 6)
                {
                    return null;
                }

                var precision = segment[0];
                components = segment[5];
                var lossless = marker is 0xC3 or 0xC7 or 0xCB or 0xCF;
                if (lossless ? precision is < 2 or > 16 : precision is not (8 or 12))
                {
                    return $"the JPEG frame header has a sample precision of {precision} bits";
                }

                // Lossless: more bits than the chosen build takes is a libjpeg warning; fewer than 8 gives GDCM an 8-bit
                // pixel format with fewer bits stored, on which its codec asserts.
                if (lossless && (precision < 8 || precision > codecBits))
                {
                    return $"the JPEG lossless precision of {precision} bits does not fit {codecBits}-bit decoding (Bits Allocated {bitsAllocated?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "absent"})";
                }

                if (components is not (1 or 3))
                {
                    return $"the JPEG frame header has {components} components, not 1 or 3";
                }
            }
            else if (marker == 0xE0 && segment.Length >= 14 && segment[..5].SequenceEqual("JFIF\0"u8) && segment[5] != 1)
            {
                return $"the JPEG header has JFIF major version {segment[5]}";
            }
            else if (marker == 0xEE && segment.Length >= 12 && segment[..5].SequenceEqual("Adobe"u8))
            {
                adobeTransform = segment[11];
            }
            else if (marker == 0xDA)
            {
                // The scan: the header is complete. libjpeg picks the colour space now, and warns when an Adobe
                // transform for three components is neither RGB (0) nor YCbCr (1).
                return components == 3 && adobeTransform is not (null or 0 or 1)
                    ? $"the JPEG header has an Adobe colour transform {adobeTransform} for three components"
                    : null;
            }

            position += length;
        }
    }

    /// <summary>SOF0 to SOF15, without DHT (C4), JPG (C8) and DAC (CC), which share the range.</summary>
    private static bool IsStartOfFrame(byte marker) => marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
}

/// <summary>
/// What <see cref="GdcmPreCheck"/> needs from a data set, gathered during the structural walk: the first element shape
/// GDCM would assert on, the top-level pixel attributes, and where the top-level encapsulated Pixel Data starts.
/// </summary>
internal sealed class DecodeFacts(bool bigEndian = false) : IElementVisitor
{
    public string? ShapeProblem { get; private set; }

    public string? RecognitionCodeProblem { get; private set; }

    /// <summary>A pixel-description attribute that occurs twice at the top level (which one GDCM keeps is its own affair).</summary>
    public string? DuplicateProblem { get; private set; }

    /// <summary>A (0002,0010) found among the top-level elements: GDCM honours one even where the meta group is not at its place.</summary>
    public string? DataSetTransferSyntax { get; private set; }

    public string? AttributeVrProblem { get; private set; }

    public int? Rows { get; private set; }

    public int? Columns { get; private set; }

    public int? PlanarConfiguration { get; private set; }

    /// <summary>Number of Frames as GDCM reads it; 1 when absent or not a number.</summary>
    public int Frames { get; private set; } = 1;

    public int? SamplesPerPixel { get; private set; }

    public int? BitsAllocated { get; private set; }

    public int? BitsStored { get; private set; }

    public int? PixelRepresentation { get; private set; }

    private readonly HashSet<uint> seenPixelAttributes = [];

    public bool HasPixelData { get; private set; }

    /// <summary>The length of top-level Pixel Data that is not encapsulated, or null.</summary>
    public long? NativePixelDataLength { get; private set; }

    /// <summary>Offset of the first item (the Basic Offset Table) of the top-level encapsulated Pixel Data, or null.</summary>
    public long? EncapsulatedPixelDataStart { get; private set; }

    public void Visit(Stream value, uint tag, string? vr, uint length, int depth)
    {
        if (vr is not null && ShapeProblem is null)
        {
            ShapeProblem = GdcmPreCheck.CheckElementShape(tag, vr, length);
        }

        if (depth != 0)
        {
            return;
        }

        if (vr is not null && AttributeVrProblem is null)
        {
            AttributeVrProblem = GdcmPreCheck.CheckAttributeVr(tag, vr);
        }

        if ((tag >> 16) == 0x0028 && (tag & 0xFFFF) < 0x0200 && !seenPixelAttributes.Add(tag))
        {
            DuplicateProblem ??= $"({tag >> 16:X4},{tag & 0xFFFF:X4}) occurs twice";
        }

        switch (tag)
        {
            case 0x0002_0010 when DataSetTransferSyntax is null && length is > 0 and <= 64:
                var uid = new byte[length];
                DataSetTransferSyntax = System.Text.Encoding.ASCII.GetString(uid[..value.ReadAtLeast(uid, uid.Length, throwOnEndOfStream: false)]).TrimEnd('\0', ' ');
                break;
            case 0x0008_0010:
                RecognitionCodeProblem = GdcmPreCheck.CheckRecognitionCode(vr ?? "SH", length, ReadStart(value, length));
                break;
            case 0x0028_0006:
                PlanarConfiguration = ReadUInt16(value, length);
                break;
            case 0x0028_0008:
                Frames = ReadInteger(value, length) ?? 1;
                break;
            case 0x0028_0010:
                Rows = ReadUInt16(value, length);
                break;
            case 0x0028_0011:
                Columns = ReadUInt16(value, length);
                break;
            case 0x0028_0002:
                SamplesPerPixel = ReadUInt16(value, length);
                break;
            case 0x0028_0100:
                BitsAllocated = ReadUInt16(value, length);
                break;
            case 0x0028_0101:
                BitsStored = ReadUInt16(value, length);
                break;
            case 0x0028_0103:
                PixelRepresentation = ReadUInt16(value, length);
                break;
            case GdcmPreCheck.PixelDataTag:
                HasPixelData = true;
                if (length == 0xFFFF_FFFF)
                {
                    EncapsulatedPixelDataStart = value.Position;
                }
                else
                {
                    NativePixelDataLength = length;
                }

                break;
        }
    }

    /// <summary>
    /// The first fragment of the encapsulated Pixel Data (after the Basic Offset Table), at most
    /// <paramref name="maxBytes"/> of it; empty when there is none. The walk has already proved the items lie inside the file.
    /// </summary>
    public byte[] ReadFirstFragment(Stream stream, int maxBytes)
    {
        if (EncapsulatedPixelDataStart is not { } start)
        {
            return [];
        }

        stream.Position = start;
        Span<byte> header = stackalloc byte[8];
        for (var item = 0; item < 2; item++)
        {
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || BinaryPrimitives.ReadUInt32LittleEndian(header) != 0xE000_FFFE)
            {
                return [];
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (item == 0)
            {
                stream.Seek(length, SeekOrigin.Current);
                continue;
            }

            var fragment = new byte[(int)Math.Min(length, (uint)maxBytes)];
            return fragment[..stream.ReadAtLeast(fragment, fragment.Length, throwOnEndOfStream: false)];
        }

        return [];
    }

    /// <summary>
    /// Whether the encapsulated Pixel Data has a fragment after its Basic Offset Table: GDCM asserts when it asks for the
    /// first fragment of a sequence that has none. True when the Pixel Data is not encapsulated.
    /// </summary>
    public bool HasFragmentAfterOffsetTable(Stream stream)
    {
        if (EncapsulatedPixelDataStart is not { } start)
        {
            return true;
        }

        stream.Position = start;
        Span<byte> header = stackalloc byte[8];
        for (var item = 0; item < 2; item++)
        {
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || BinaryPrimitives.ReadUInt32LittleEndian(header) != 0xE000_FFFE)
            {
                return false;
            }

            stream.Seek(BinaryPrimitives.ReadUInt32LittleEndian(header[4..]), SeekOrigin.Current);
        }

        return true;
    }

    /// <summary>
    /// The fragments of the encapsulated Pixel Data after the Basic Offset Table, or null when there is none or they
    /// hold more than <paramref name="maxBytes"/> together (then nothing is judged).
    /// </summary>
    public List<byte[]>? ReadFragments(Stream stream, long maxBytes)
    {
        if (EncapsulatedPixelDataStart is not { } start)
        {
            return null;
        }

        stream.Position = start;
        var fragments = new List<byte[]>();
        long total = 0;
        Span<byte> header = stackalloc byte[8];
        for (var item = 0; ; item++)
        {
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || BinaryPrimitives.ReadUInt32LittleEndian(header) != 0xE000_FFFE)
            {
                return fragments;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (item == 0)
            {
                stream.Seek(length, SeekOrigin.Current);
                continue;
            }

            total += length;
            if (total > maxBytes)
            {
                return null;
            }

            var fragment = new byte[length];
            stream.ReadExactly(fragment);
            fragments.Add(fragment);
        }
    }

    /// <summary>The first 8 bytes of a value (fewer when it is shorter); none for an undefined length.</summary>
    private static byte[] ReadStart(Stream value, uint length)
    {
        var start = new byte[length == 0xFFFF_FFFF ? 0 : Math.Min(length, 8)];
        return start[..value.ReadAtLeast(start, start.Length, throwOnEndOfStream: false)];
    }

    /// <summary>An IS value (leading and trailing spaces allowed), or null.</summary>
    private static int? ReadInteger(Stream value, uint length)
    {
        if (length is 0 or > 16)
        {
            return null;
        }

        // The walk checks the length against the file only after this visit.
        Span<byte> bytes = stackalloc byte[(int)length];
        var read = value.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return int.TryParse(System.Text.Encoding.ASCII.GetString(bytes[..read]).Trim(' ', '\0'), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : null;
    }

    private int? ReadUInt16(Stream value, uint length)
    {
        Span<byte> bytes = stackalloc byte[2];
        if (length < 2 || value.ReadAtLeast(bytes, 2, throwOnEndOfStream: false) < 2)
        {
            return null;
        }

        return bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);
    }
}
