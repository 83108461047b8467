using System.Buffers.Binary;
using System.Text;

namespace Edge.Fuzz;

/// <summary>
/// Writes the generated seeds: whole peer conversations for <c>pdu</c> (association, C-ECHO, C-STORE, release or
/// abort) and small data sets for <c>dataset</c>. Built byte by byte from PS3.8 and PS3.5, not with our own codec, so
/// a bug in the codec cannot hide in the seeds. File seeds (PNG, DICOM, JPEG fixtures) are copied by hand.
/// </summary>
internal static class Seeds
{
    private const string Verification = "1.2.840.10008.1.1";
    private const string CrStorage = "1.2.840.10008.5.1.4.1.1.1";
    private const string Implicit = "1.2.840.10008.1.2";
    private const string Explicit = "1.2.840.10008.1.2.1";
    private const string Instance = "1.2.826.0.1.3680043.2.1125.1.1";

    public static void Write(string root)
    {
        var pdu = Directory.CreateDirectory(Path.Combine(root, "pdu")).FullName;
        File.WriteAllBytes(Path.Combine(pdu, "associate-release.bin"), [.. AssociateRq(), .. ReleaseRq()]);
        File.WriteAllBytes(Path.Combine(pdu, "associate-abort.bin"), [.. AssociateRq(), .. Abort()]);
        File.WriteAllBytes(Path.Combine(pdu, "echo.bin"), [.. AssociateRq(), .. PData(1, 3, EchoRq()), .. ReleaseRq()]);
        var dataSet = DataSet(explicitVr: true);
        File.WriteAllBytes(Path.Combine(pdu, "store-explicit.bin"), [.. AssociateRq(), .. PData(3, 3, StoreRq(2)), .. PData(3, 0, dataSet[..40]), .. PData(3, 2, dataSet[40..]), .. ReleaseRq()]);
        File.WriteAllBytes(Path.Combine(pdu, "store-implicit.bin"), [.. AssociateRq(), .. PData(5, 3, StoreRq(3)), .. PData(5, 2, DataSet(explicitVr: false)), .. ReleaseRq()]);

        var dataset = Directory.CreateDirectory(Path.Combine(root, "dataset")).FullName;
        File.WriteAllBytes(Path.Combine(dataset, "explicit.bin"), [0x01, .. DataSet(explicitVr: true)]);
        File.WriteAllBytes(Path.Combine(dataset, "implicit.bin"), [0x00, .. DataSet(explicitVr: false)]);
    }

    private static byte[] AssociateRq()
    {
        var body = new List<byte>();
        body.AddRange([0, 1, 0, 0]);
        body.AddRange(Ae("EDGE"));
        body.AddRange(Ae("FUZZ"));
        body.AddRange(new byte[32]);
        body.AddRange(Item(0x10, Ascii("1.2.840.10008.3.1.1.1")));
        body.AddRange(Item(0x20, [1, 0, 0, 0, .. Item(0x30, Ascii(Verification)), .. Item(0x40, Ascii(Implicit))]));
        body.AddRange(Item(0x20, [3, 0, 0, 0, .. Item(0x30, Ascii(CrStorage)), .. Item(0x40, Ascii(Explicit))]));
        body.AddRange(Item(0x20, [5, 0, 0, 0, .. Item(0x30, Ascii(CrStorage)), .. Item(0x40, Ascii(Implicit))]));
        var maxLength = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(maxLength, 16384);
        body.AddRange(Item(0x50, [.. Item(0x51, maxLength), .. Item(0x52, Ascii("1.2.3.4")), .. Item(0x55, Ascii("FUZZ_1"))]));
        return Pdu(0x01, [.. body]);
    }

    private static byte[] ReleaseRq() => Pdu(0x05, [0, 0, 0, 0]);

    private static byte[] Abort() => Pdu(0x07, [0, 0, 0, 0]);

    /// <summary>One P-DATA-TF with one PDV; control bit 0 = command, bit 1 = last fragment.</summary>
    private static byte[] PData(byte contextId, byte control, byte[] fragment)
    {
        var pdv = new byte[6 + fragment.Length];
        BinaryPrimitives.WriteUInt32BigEndian(pdv, (uint)(fragment.Length + 2));
        pdv[4] = contextId;
        pdv[5] = control;
        fragment.CopyTo(pdv, 6);
        return Pdu(0x04, pdv);
    }

    private static byte[] EchoRq() =>
    [
        .. Implicit16(0x0002, Uid(Verification)),
        .. Implicit16(0x0100, UShort(0x0030)),
        .. Implicit16(0x0110, UShort(1)),
        .. Implicit16(0x0800, UShort(0x0101)),
    ];

    private static byte[] StoreRq(ushort messageId) =>
    [
        .. Implicit16(0x0002, Uid(CrStorage)),
        .. Implicit16(0x0100, UShort(0x0001)),
        .. Implicit16(0x0110, UShort(messageId)),
        .. Implicit16(0x0700, UShort(0)),
        .. Implicit16(0x0800, UShort(0)),
        .. Implicit16(0x1000, Uid(Instance)),
    ];

    /// <summary>SOP class and instance, a 2 x 2 image, and an undefined-length sequence with one undefined-length item.</summary>
    private static byte[] DataSet(bool explicitVr)
    {
        var s = new List<byte>();
        s.AddRange(Element(explicitVr, 0x0008, 0x0016, "UI", Uid(CrStorage)));
        s.AddRange(Element(explicitVr, 0x0008, 0x0018, "UI", Uid(Instance)));

        // (0008,1140) Referenced Image Sequence, undefined length: item (undefined length) with one element, delimiters.
        s.AddRange(Header(explicitVr, 0x0008, 0x1140, "SQ", 0xFFFF_FFFF));
        s.AddRange(Tag(0xFFFE, 0xE000, 0xFFFF_FFFF));
        s.AddRange(Element(explicitVr, 0x0008, 0x1150, "UI", Uid(CrStorage)));
        s.AddRange(Tag(0xFFFE, 0xE00D, 0));
        s.AddRange(Tag(0xFFFE, 0xE0DD, 0));

        s.AddRange(Element(explicitVr, 0x0028, 0x0002, "US", UShort(1)));
        s.AddRange(Element(explicitVr, 0x0028, 0x0004, "CS", Ascii("MONOCHROME2 ")));
        s.AddRange(Element(explicitVr, 0x0028, 0x0010, "US", UShort(2)));
        s.AddRange(Element(explicitVr, 0x0028, 0x0011, "US", UShort(2)));
        s.AddRange(Element(explicitVr, 0x0028, 0x0100, "US", UShort(16)));
        s.AddRange(Element(explicitVr, 0x0028, 0x0101, "US", UShort(12)));
        s.AddRange(Element(explicitVr, 0x7FE0, 0x0010, "OW", [0, 0, 0xFF, 0x0F, 0x00, 0x08, 0x00, 0x04]));
        return [.. s];
    }

    private static byte[] Element(bool explicitVr, ushort group, ushort element, string vr, byte[] value) =>
        [.. Header(explicitVr, group, element, vr, (uint)value.Length), .. value];

    private static byte[] Header(bool explicitVr, ushort group, ushort element, string vr, uint length)
    {
        if (!explicitVr)
        {
            return Tag(group, element, length);
        }

        var longLength = vr is "OB" or "OW" or "SQ" or "UN" or "UT";
        var header = new byte[longLength ? 12 : 8];
        BinaryPrimitives.WriteUInt16LittleEndian(header, group);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), element);
        header[4] = (byte)vr[0];
        header[5] = (byte)vr[1];
        if (longLength)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), length);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), (ushort)length);
        }

        return header;
    }

    private static byte[] Tag(ushort group, ushort element, uint length)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(header, group);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), element);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), length);
        return header;
    }

    private static byte[] Implicit16(ushort element, byte[] value) => Element(explicitVr: false, 0x0000, element, "--", value);

    private static byte[] Pdu(byte type, byte[] body)
    {
        var pdu = new byte[6 + body.Length];
        pdu[0] = type;
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(2), (uint)body.Length);
        body.CopyTo(pdu, 6);
        return pdu;
    }

    private static byte[] Item(byte type, byte[] value)
    {
        var item = new byte[4 + value.Length];
        item[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(item.AsSpan(2), (ushort)value.Length);
        value.CopyTo(item, 4);
        return item;
    }

    private static byte[] Ae(string title) => Ascii(title.PadRight(16));

    private static byte[] Uid(string uid) => Ascii(uid.Length % 2 == 0 ? uid : uid + "\0");

    private static byte[] UShort(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
