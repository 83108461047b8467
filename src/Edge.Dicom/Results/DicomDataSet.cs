using System.Buffers.Binary;
using System.Text;

namespace Edge.Dicom.Results;

/// <summary>
/// A data set we create, kept as values (not bytes) until it is written, so the character set can be chosen once
/// every string is known. Elements are kept in tag order, which is the order PS3.5 7.1 requires on the wire.
/// </summary>
internal sealed class DicomDataSet
{
    private readonly SortedDictionary<uint, DicomElement> elements = [];

    public IEnumerable<KeyValuePair<uint, DicomElement>> Elements => elements;

    public bool Contains(uint tag) => elements.ContainsKey(tag);

    /// <summary>A text element; a null or empty value writes a zero-length (Type 2 "present but empty") element.</summary>
    public DicomDataSet Text(uint tag, string vr, string? value)
    {
        elements[tag] = new TextElement(vr, value ?? string.Empty);
        return this;
    }

    /// <summary>A multi-valued text element (values joined by backslash).</summary>
    public DicomDataSet Texts(uint tag, string vr, IEnumerable<string> values) => Text(tag, vr, string.Join('\\', values));

    public DicomDataSet UInt16(uint tag, ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        elements[tag] = new BinaryElement("US", bytes);
        return this;
    }

    public DicomDataSet Binary(uint tag, string vr, byte[] value)
    {
        elements[tag] = new BinaryElement(vr, value);
        return this;
    }

    /// <summary>A sequence; no items writes an empty (Type 2) sequence.</summary>
    public DicomDataSet Sequence(uint tag, params IEnumerable<DicomDataSet> items)
    {
        elements[tag] = new SequenceElement([.. items]);
        return this;
    }

    /// <summary>True when some text element, at any depth, needs more than the default (ASCII) repertoire.</summary>
    public bool NeedsUnicode() => elements.Values.Any(e => e switch
    {
        TextElement t => !Ascii.IsValid(t.Value),
        SequenceElement s => s.Items.Any(i => i.NeedsUnicode()),
        _ => false,
    });
}

internal abstract record DicomElement(string Vr);

internal sealed record TextElement(string Vr, string Value) : DicomElement(Vr);

internal sealed record BinaryElement(string Vr, byte[] Value) : DicomElement(Vr);

internal sealed record SequenceElement(IReadOnlyList<DicomDataSet> Items) : DicomElement("SQ");

/// <summary>
/// Writes Explicit VR Little Endian (PS3.5 7.1.2), the one transfer syntax every DICOM peer must read. Sequences and
/// items carry defined lengths (computed by encoding the items first): simpler for readers than delimiters, and our
/// objects are small apart from pixel data, which is never inside a sequence.
/// </summary>
internal static class ExplicitVrLittleEndian
{
    public const string TransferSyntaxUid = "1.2.840.10008.1.2.1";

    /// <summary>Preamble, "DICM", File Meta Information (PS3.10 7.1) and the data set.</summary>
    public static void WritePart10(Stream output, DicomDataSet dataSet, string sopClassUid, string sopInstanceUid, Encoding encoding)
    {
        var meta = new DicomDataSet()
            .Binary(DicomTags.FileMetaInformationVersion, "OB", [0x00, 0x01])
            .Text(DicomTags.MediaStorageSopClassUid, "UI", sopClassUid)
            .Text(DicomTags.MediaStorageSopInstanceUid, "UI", sopInstanceUid)
            .Text(DicomTags.TransferSyntaxUid, "UI", TransferSyntaxUid)
            .Text(DicomTags.ImplementationClassUid, "UI", Network.DicomUids.ImplementationClassUid)
            .Text(DicomTags.ImplementationVersionName, "SH", Network.DicomUids.ImplementationVersionName);
        var metaBytes = Encode(meta, Encoding.ASCII);
        var groupLength = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupLength, (uint)metaBytes.Length);

        output.Write(new byte[128]);
        output.Write("DICM"u8);
        WriteElement(output, DicomTags.FileMetaInformationGroupLength, new BinaryElement("UL", groupLength), Encoding.ASCII);
        output.Write(metaBytes);
        Write(output, dataSet, encoding);
    }

    public static byte[] Encode(DicomDataSet dataSet, Encoding encoding)
    {
        using var buffer = new MemoryStream();
        Write(buffer, dataSet, encoding);
        return buffer.ToArray();
    }

    public static void Write(Stream output, DicomDataSet dataSet, Encoding encoding)
    {
        foreach (var (tag, element) in dataSet.Elements)
        {
            WriteElement(output, tag, element, encoding);
        }
    }

    /// <summary>VRs with two reserved bytes and a 32-bit length (PS3.5 Table 7.1-1).</summary>
    public static bool HasLongLength(string vr) => vr is "OB" or "OD" or "OF" or "OL" or "OV" or "OW" or "SQ" or "SV" or "UC" or "UN" or "UR" or "UT" or "UV";

    /// <summary>Value bytes padded to even length: UI with NUL, binary with NUL, text with space (PS3.5 6.2).</summary>
    public static byte[] ValueBytes(DicomElement element, Encoding encoding)
    {
        switch (element)
        {
            case TextElement text:
                var textEncoding = text.Vr is "UI" or "CS" or "DA" or "TM" or "DT" or "DS" or "IS" or "AE" or "AS" ? Encoding.ASCII : encoding;
                var bytes = textEncoding.GetBytes(text.Value);
                return bytes.Length % 2 == 0 ? bytes : [.. bytes, text.Vr == "UI" ? (byte)0 : (byte)' '];
            case BinaryElement binary:
                return binary.Value.Length % 2 == 0 ? binary.Value : [.. binary.Value, 0];
            default:
                throw new InvalidOperationException("Sequences are encoded item by item.");
        }
    }

    private static void WriteElement(Stream output, uint tag, DicomElement element, Encoding encoding)
    {
        byte[] value;
        if (element is SequenceElement sequence)
        {
            using var items = new MemoryStream();
            foreach (var item in sequence.Items)
            {
                var itemBytes = Encode(item, encoding);
                WriteTag(items, DicomTags.Item);
                WriteUInt32(items, (uint)itemBytes.Length);
                items.Write(itemBytes);
            }

            value = items.ToArray();
        }
        else
        {
            value = ValueBytes(element, encoding);
        }

        WriteTag(output, tag);
        output.WriteByte((byte)element.Vr[0]);
        output.WriteByte((byte)element.Vr[1]);
        if (HasLongLength(element.Vr))
        {
            output.WriteByte(0);
            output.WriteByte(0);
            WriteUInt32(output, (uint)value.Length);
        }
        else
        {
            if (value.Length > ushort.MaxValue)
            {
                throw new InvalidOperationException($"Element ({tag >> 16:X4},{tag & 0xFFFF:X4}) of VR {element.Vr} is too long for a 16-bit length.");
            }

            Span<byte> length = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)value.Length);
            output.Write(length);
        }

        output.Write(value);
    }

    private static void WriteTag(Stream output, uint tag)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(tag >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[2..], (ushort)tag);
        output.Write(bytes);
    }

    private static void WriteUInt32(Stream output, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        output.Write(bytes);
    }
}
