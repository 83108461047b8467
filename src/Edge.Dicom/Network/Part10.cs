using System.Buffers.Binary;
using System.Text;

namespace Edge.Dicom.Network;

/// <summary>What a Part-10 file's meta header says, and where its data set starts.</summary>
internal sealed record FileMetaInformation(string SopClassUid, string SopInstanceUid, string TransferSyntaxUid, long DataSetOffset);

/// <summary>
/// DICOM Part-10 file framing (PS3.10 7.1): 128-byte preamble, "DICM", File Meta Information (group 0002, always
/// Explicit VR Little Endian), then the data set in the transfer syntax the meta header names.
/// </summary>
internal static class Part10
{
    private const int PreambleLength = 128;

    /// <summary>Preamble, magic and a meta header for an object received over the network.</summary>
    public static byte[] FileMetaInformationBytes(string sopClassUid, string sopInstanceUid, string transferSyntaxUid, string sourceAeTitle)
    {
        using var group = new MemoryStream();
        WriteExplicit(group, 0x0001, "OB", [0x00, 0x01]);
        WriteExplicit(group, 0x0002, "UI", Padded(sopClassUid, '\0'));
        WriteExplicit(group, 0x0003, "UI", Padded(sopInstanceUid, '\0'));
        WriteExplicit(group, 0x0010, "UI", Padded(transferSyntaxUid, '\0'));
        WriteExplicit(group, 0x0012, "UI", Padded(DicomUids.ImplementationClassUid, '\0'));
        WriteExplicit(group, 0x0013, "SH", Padded(DicomUids.ImplementationVersionName, ' '));
        WriteExplicit(group, 0x0016, "AE", Padded(sourceAeTitle, ' '));

        using var file = new MemoryStream();
        file.Write(new byte[PreambleLength]);
        file.Write("DICM"u8);
        var groupLength = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupLength, (uint)group.Length);
        WriteExplicit(file, 0x0000, "UL", groupLength);
        group.Position = 0;
        group.CopyTo(file);
        return file.ToArray();
    }

    /// <summary>Reads the meta header of a Part-10 file; the stream is left at the start of the data set.</summary>
    /// <exception cref="DicomNetworkException">Not a Part-10 file, or its meta header lacks what a C-STORE needs.</exception>
    public static FileMetaInformation ReadFileMetaInformation(Stream stream)
    {
        var head = new byte[PreambleLength + 4];
        if (stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length || !head.AsSpan(PreambleLength).SequenceEqual("DICM"u8))
        {
            throw new DicomNetworkException("Not a DICOM Part-10 file (no preamble and DICM prefix): it cannot be sent without its SOP class and transfer syntax.");
        }

        string? sopClass = null, sopInstance = null, transferSyntax = null;
        var header = new byte[12];
        while (true)
        {
            var start = stream.Position;
            if (stream.ReadAtLeast(header.AsSpan(0, 8), 8, throwOnEndOfStream: false) < 8 || BinaryPrimitives.ReadUInt16LittleEndian(header) != 0x0002)
            {
                stream.Position = start;
                break;
            }

            var element = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(2));
            var vr = Encoding.ASCII.GetString(header, 4, 2);
            uint length;
            if (DataSetWalker.HasLongLength(vr))
            {
                if (stream.ReadAtLeast(header.AsSpan(8, 4), 4, throwOnEndOfStream: false) < 4)
                {
                    throw new DicomNetworkException($"File meta element (0002,{element:X4}) is cut off in its length.");
                }

                length = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
            }
            else
            {
                length = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(6));
            }

            if (length > 1024 * 1024)
            {
                throw new DicomNetworkException($"File meta element (0002,{element:X4}) is implausibly long.");
            }

            // Found by fuzzing: a value running past the end of the file must fail as this boundary's exception.
            if (length > stream.Length - stream.Position)
            {
                throw new DicomNetworkException($"File meta element (0002,{element:X4}) runs past the end of the file.");
            }

            var value = new byte[length];
            stream.ReadExactly(value);
            var text = Encoding.ASCII.GetString(value).TrimEnd('\0', ' ');
            switch (element)
            {
                case 0x0002: sopClass = text; break;
                case 0x0003: sopInstance = text; break;
                case 0x0010: transferSyntax = text; break;
            }
        }

        if (string.IsNullOrEmpty(sopClass) || string.IsNullOrEmpty(sopInstance) || string.IsNullOrEmpty(transferSyntax))
        {
            throw new DicomNetworkException("The file's meta header lacks Media Storage SOP Class/Instance UID or Transfer Syntax UID.");
        }

        return new FileMetaInformation(sopClass, sopInstance, transferSyntax, stream.Position);
    }

    private static byte[] Padded(string value, char padding) => Encoding.ASCII.GetBytes(value.Length % 2 == 0 ? value : value + padding);

    private static void WriteExplicit(Stream output, ushort element, string vr, ReadOnlySpan<byte> value)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(header, 0x0002);
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], element);
        header[4] = (byte)vr[0];
        header[5] = (byte)vr[1];
        if (DataSetWalker.HasLongLength(vr))
        {
            header[6] = header[7] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)value.Length);
            output.Write(header);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)value.Length);
            output.Write(header[..8]);
        }

        output.Write(value);
    }
}

/// <summary>
/// The cheap structural check of a received data set: walks the element headers (skipping values) in the negotiated
/// VR encoding, descending into undefined-length sequences, items and encapsulated pixel data, and fails if any length
/// runs past the end or a header is not what the encoding allows. It decodes no pixels and reads no values, so it
/// costs a few seeks per object and proves only that the bytes are a data set, not that the image is usable.
/// </summary>
internal static class DataSetWalker
{
    private const uint UndefinedLength = 0xFFFF_FFFF;
    private const uint ItemTag = 0xFFFE_E000;
    private const uint ItemDelimitationTag = 0xFFFE_E00D;
    private const uint SequenceDelimitationTag = 0xFFFE_E0DD;
    private const uint PixelDataTag = 0x7FE0_0010;
    private const int MaxDepth = 32;

    private static readonly HashSet<string> KnownVrs = new(StringComparer.Ordinal)
    {
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
        "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
    };

    public static bool IsKnownVr(string vr) => KnownVrs.Contains(vr);

    /// <summary>VRs with a reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2).</summary>
    public static bool HasLongLength(string vr) => vr is "OB" or "OD" or "OF" or "OL" or "OV" or "OW" or "SQ" or "SV" or "UC" or "UN" or "UR" or "UT" or "UV";

    /// <summary>Null when the data set is well formed; otherwise why not (no values quoted, so no patient data).</summary>
    /// <param name="stopAfterPixelData">Stop at the end of the top-level Pixel Data: what follows (padding some writers append) is not checked.</param>
    /// <param name="visitor">Shown every element header on the way (the walk itself reads no values).</param>
    /// <param name="bigEndian">Explicit VR Big Endian (retired, but files from old archives still come in it).</param>
    public static string? Check(Stream dataSet, bool explicitVr, bool stopAfterPixelData = false, IElementVisitor? visitor = null, bool bigEndian = false)
    {
        try
        {
            var end = dataSet.Length;
            if (dataSet.Position >= end)
            {
                return "the data set is empty";
            }

            WalkDataSet(dataSet, end, explicitVr, bigEndian, depth: 0, insideItem: false, visitor, stopAfterPixelData);
            return null;
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }
    }

    private static void WalkDataSet(Stream s, long end, bool explicitVr, bool bigEndian, int depth, bool insideItem, IElementVisitor? visitor, bool stopAfterPixelData = false)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException($"sequences nest deeper than {MaxDepth}");
        }

        Span<byte> header = stackalloc byte[8];
        Span<byte> longLength = stackalloc byte[4];
        while (s.Position < end)
        {
            Read(s, end, header);
            var tag = ((uint)U16(bigEndian, header) << 16) | U16(bigEndian, header[2..]);
            if (tag == ItemDelimitationTag && insideItem)
            {
                return;
            }

            if ((tag >> 16) == 0xFFFE)
            {
                throw new FormatException($"delimiter ({tag >> 16:X4},{tag & 0xFFFF:X4}) where an element was expected");
            }

            uint length;
            string? vr = null;
            var nestedExplicit = explicitVr;
            if (explicitVr)
            {
                vr = string.Create(2, (header[4], header[5]), static (span, b) => (span[0], span[1]) = ((char)b.Item1, (char)b.Item2));
                if (!KnownVrs.Contains(vr))
                {
                    throw new FormatException($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) has no valid VR");
                }

                if (HasLongLength(vr))
                {
                    Read(s, end, longLength);
                    length = U32(bigEndian, longLength);
                }
                else
                {
                    length = U16(bigEndian, header[6..]);
                }

                if (length == UndefinedLength && vr is not ("SQ" or "OB" or "OW" or "UN"))
                {
                    throw new FormatException($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) of VR {vr} has undefined length");
                }

                // An undefined-length UN holds its content in Implicit VR (PS3.5 6.2.2).
                nestedExplicit = vr != "UN";
            }
            else
            {
                length = U32(bigEndian, header[4..]);
            }

            if (visitor is not null)
            {
                var valueStart = s.Position;
                visitor.Visit(s, tag, vr, length, depth);
                s.Position = valueStart;
            }

            if (length == UndefinedLength)
            {
                WalkItems(s, end, nestedExplicit, bigEndian, depth + 1, visitor);
            }
            else
            {
                Skip(s, end, length);
            }

            if (stopAfterPixelData && tag == PixelDataTag)
            {
                return;
            }
        }

        if (insideItem)
        {
            throw new FormatException("an undefined-length item has no item delimiter");
        }
    }

    /// <summary>Items of an undefined-length sequence or of encapsulated pixel data (fragments), up to the sequence delimiter.</summary>
    private static void WalkItems(Stream s, long end, bool explicitVr, bool bigEndian, int depth, IElementVisitor? visitor)
    {
        Span<byte> header = stackalloc byte[8];
        while (true)
        {
            Read(s, end, header);
            var tag = ((uint)U16(bigEndian, header) << 16) | U16(bigEndian, header[2..]);
            var length = U32(bigEndian, header[4..]);
            if (tag == SequenceDelimitationTag)
            {
                return;
            }

            if (tag != ItemTag)
            {
                throw new FormatException($"({tag >> 16:X4},{tag & 0xFFFF:X4}) where an item or sequence delimiter was expected");
            }

            if (length == UndefinedLength)
            {
                WalkDataSet(s, end, explicitVr, bigEndian, depth + 1, insideItem: true, visitor);
            }
            else
            {
                Skip(s, end, length);
            }
        }
    }

    private static ushort U16(bool bigEndian, ReadOnlySpan<byte> bytes) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    private static uint U32(bool bigEndian, ReadOnlySpan<byte> bytes) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    private static void Read(Stream s, long end, Span<byte> buffer)
    {
        if (end - s.Position < buffer.Length)
        {
            throw new FormatException("the data set ends inside an element header");
        }

        s.ReadExactly(buffer);
    }

    private static void Skip(Stream s, long end, uint length)
    {
        if (length > end - s.Position)
        {
            throw new FormatException($"an element length ({length}) runs past the end of the data set");
        }

        s.Seek(length, SeekOrigin.Current);
    }
}

/// <summary>Sees each element header <see cref="DataSetWalker"/> passes, with the stream at the element's value.</summary>
internal interface IElementVisitor
{
    /// <param name="vr">Null in Implicit VR.</param>
    /// <param name="depth">0 for the top-level data set.</param>
    void Visit(Stream value, uint tag, string? vr, uint length, int depth);
}
