using System.Buffers.Binary;
using System.Text;

namespace Edge.Dicom.Network;

/// <summary>DIMSE command field values (PS3.7 E.1) for the services we speak.</summary>
internal static class CommandField
{
    public const ushort CStoreRq = 0x0001;
    public const ushort CStoreRsp = 0x8001;
    public const ushort CEchoRq = 0x0030;
    public const ushort CEchoRsp = 0x8030;
}

/// <summary>
/// A DIMSE command set: group 0000 elements, always Implicit VR Little Endian (PS3.7 6.3.1). Only the fields the
/// C-ECHO and C-STORE services use are named; the rest are kept as bytes so parsing never loses anything.
/// </summary>
internal sealed class DimseCommand
{
    /// <summary>Command Data Set Type value meaning "no data set follows"; any other value means one does.</summary>
    public const ushort NoDataSet = 0x0101;

    private const uint AffectedSopClassUidTag = 0x0000_0002;
    private const uint CommandFieldTag = 0x0000_0100;
    private const uint MessageIdTag = 0x0000_0110;
    private const uint MessageIdBeingRespondedToTag = 0x0000_0120;
    private const uint PriorityTag = 0x0000_0700;
    private const uint CommandDataSetTypeTag = 0x0000_0800;
    private const uint StatusTag = 0x0000_0900;
    private const uint ErrorCommentTag = 0x0000_0902;
    private const uint AffectedSopInstanceUidTag = 0x0000_1000;

    private readonly SortedDictionary<uint, byte[]> _elements = [];

    public ushort Field
    {
        get => UShort(CommandFieldTag) ?? throw new DicomNetworkException("Command set has no Command Field (0000,0100).", AbortReason.InvalidPduParameterValue);
        init => SetUShort(CommandFieldTag, value);
    }

    public ushort? MessageId
    {
        get => UShort(MessageIdTag);
        init => SetUShort(MessageIdTag, value);
    }

    public ushort? MessageIdBeingRespondedTo
    {
        get => UShort(MessageIdBeingRespondedToTag);
        init => SetUShort(MessageIdBeingRespondedToTag, value);
    }

    public ushort? Priority
    {
        get => UShort(PriorityTag);
        init => SetUShort(PriorityTag, value);
    }

    public bool HasDataSet
    {
        get => (UShort(CommandDataSetTypeTag) ?? NoDataSet) != NoDataSet;
        init => SetUShort(CommandDataSetTypeTag, value ? (ushort)0x0000 : NoDataSet);
    }

    public ushort? Status
    {
        get => UShort(StatusTag);
        init => SetUShort(StatusTag, value);
    }

    public string? AffectedSopClassUid
    {
        get => Text(AffectedSopClassUidTag);
        init => SetText(AffectedSopClassUidTag, value, padding: '\0');
    }

    public string? AffectedSopInstanceUid
    {
        get => Text(AffectedSopInstanceUidTag);
        init => SetText(AffectedSopInstanceUidTag, value, padding: '\0');
    }

    public string? ErrorComment
    {
        get => Text(ErrorCommentTag);
        init => SetText(ErrorCommentTag, value is { Length: > 64 } ? value[..64] : value, padding: ' ');
    }

    public static DimseCommand Parse(ReadOnlySpan<byte> bytes)
    {
        var command = new DimseCommand();
        while (!bytes.IsEmpty)
        {
            if (bytes.Length < 8)
            {
                throw new DicomNetworkException("Command set ends inside an element header.", AbortReason.InvalidPduParameterValue);
            }

            var group = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
            var element = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
            if (group != 0x0000 || length > (uint)(bytes.Length - 8))
            {
                throw new DicomNetworkException($"Command set element ({group:X4},{element:X4}) is outside group 0000 or longer than the command.", AbortReason.InvalidPduParameterValue);
            }

            command._elements[(uint)element] = bytes.Slice(8, (int)length).ToArray();
            bytes = bytes[(8 + (int)length)..];
        }

        return command;
    }

    /// <summary>The command set with its group length first, ready to be split into command PDVs.</summary>
    public byte[] Write()
    {
        _elements.Remove(0x0000_0000);
        var groupLength = _elements.Values.Sum(v => 8 + v.Length);
        var bytes = new byte[12 + groupLength];
        var span = bytes.AsSpan();
        var groupLengthValue = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupLengthValue, (uint)groupLength);
        WriteElement(ref span, 0x0000_0000, groupLengthValue);
        foreach (var (tag, value) in _elements)
        {
            WriteElement(ref span, tag, value);
        }

        return bytes;
    }

    private static void WriteElement(ref Span<byte> span, uint tag, byte[] value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(span, 0x0000);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], (ushort)tag);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)value.Length);
        value.CopyTo(span[8..]);
        span = span[(8 + value.Length)..];
    }

    private ushort? UShort(uint tag) =>
        _elements.TryGetValue(tag, out var value) ? value.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(value) : throw new DicomNetworkException($"Command element (0000,{tag:X4}) is not 2 bytes.", AbortReason.InvalidPduParameterValue) : null;

    private string? Text(uint tag) => _elements.TryGetValue(tag, out var value) ? Encoding.ASCII.GetString(value).TrimEnd('\0', ' ') : null;

    private void SetUShort(uint tag, ushort? value)
    {
        if (value is { } v)
        {
            var bytes = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, v);
            _elements[tag] = bytes;
        }
        else
        {
            _elements.Remove(tag);
        }
    }

    private void SetText(uint tag, string? value, char padding)
    {
        if (value is null)
        {
            _elements.Remove(tag);
            return;
        }

        _elements[tag] = Encoding.ASCII.GetBytes(value.Length % 2 == 0 ? value : value + padding);
    }
}
