using System.Buffers.Binary;
using System.Text;

namespace Edge.Dicom.Network;

/// <summary>Upper layer PDU types (PS3.8 9.3).</summary>
internal enum PduType : byte
{
    AssociateRq = 0x01,
    AssociateAc = 0x02,
    AssociateRj = 0x03,
    PDataTf = 0x04,
    ReleaseRq = 0x05,
    ReleaseRp = 0x06,
    Abort = 0x07,
}

/// <summary>A PDU as read: its type and its variable field, which lives in the reader's buffer until the next read.</summary>
internal readonly record struct Pdu(PduType Type, ReadOnlyMemory<byte> Body);

/// <summary>
/// Reads whole PDUs into one buffer owned by the association, so memory per association is bounded by the largest
/// PDU we accept. Lengths are checked before anything is read: a PDU announcing more than the limit is a protocol error.
/// </summary>
internal sealed class PduReader
{
    private const int HeaderLength = 6;

    private readonly Stream _stream;
    private readonly byte[] _header = new byte[HeaderLength];
    private readonly byte[] _buffer;

    public PduReader(Stream stream, int maxBodyLength)
    {
        _stream = stream;
        _buffer = new byte[maxBodyLength];
    }

    /// <summary>The largest variable field this reader can hold.</summary>
    public int Limit => _buffer.Length;

    /// <summary>The next PDU, or null when the peer closed the connection cleanly between PDUs.</summary>
    /// <param name="limit">Largest variable field accepted for this read (at most the buffer).</param>
    /// <param name="timeout">ARTIM or the idle timeout: the whole PDU must arrive within it.</param>
    /// <param name="what">Names the timer in the exception (e.g. "ARTIM").</param>
    public async ValueTask<Pdu?> ReadAsync(int limit, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            var got = await _stream.ReadAtLeastAsync(_header, HeaderLength, throwOnEndOfStream: false, timer.Token).ConfigureAwait(false);
            if (got == 0)
            {
                return null;
            }

            if (got < HeaderLength)
            {
                throw new DicomNetworkException("Connection closed inside a PDU header.", AbortReason.InvalidPduParameterValue);
            }

            var type = _header[0];
            if (type is < (byte)PduType.AssociateRq or > (byte)PduType.Abort)
            {
                throw new DicomNetworkException($"Unrecognised PDU type 0x{type:X2}.", AbortReason.UnrecognizedPdu);
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(2));
            if (length > (uint)Math.Min(limit, _buffer.Length))
            {
                throw new DicomNetworkException($"PDU of type 0x{type:X2} announces {length} bytes, more than the {Math.Min(limit, _buffer.Length)} accepted.", AbortReason.InvalidPduParameterValue);
            }

            var body = _buffer.AsMemory(0, (int)length);
            if (length > 0 && await _stream.ReadAtLeastAsync(body, (int)length, throwOnEndOfStream: false, timer.Token).ConfigureAwait(false) < length)
            {
                throw new DicomNetworkException($"Connection closed inside a PDU of type 0x{type:X2} (its length says {length} bytes).", AbortReason.InvalidPduParameterValue);
            }

            return new Pdu((PduType)type, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DicomNetworkException($"{what} timeout: no complete PDU within {timeout.TotalSeconds:0.###} s.");
        }
    }
}

/// <summary>One proposed presentation context of an A-ASSOCIATE-RQ.</summary>
internal sealed record PresentationContextProposal(byte Id, string AbstractSyntax, IReadOnlyList<string> TransferSyntaxes);

/// <summary>Result of one presentation context in an A-ASSOCIATE-AC (PS3.8 9.3.3.2).</summary>
internal enum PresentationContextResult : byte
{
    Acceptance = 0,
    UserRejection = 1,
    NoReason = 2,
    AbstractSyntaxNotSupported = 3,
    TransferSyntaxesNotSupported = 4,
}

/// <summary>One presentation context of an A-ASSOCIATE-AC; the transfer syntax matters only when accepted.</summary>
internal sealed record PresentationContextAnswer(byte Id, PresentationContextResult Result, string TransferSyntax);

/// <summary>An A-ASSOCIATE-RQ or -AC: the fixed fields and the items we use; others are parsed over and ignored.</summary>
internal sealed record AssociationPdu
{
    public required string CalledAe { get; init; }

    public required string CallingAe { get; init; }

    public ushort ProtocolVersion { get; init; } = 1;

    public string? ApplicationContext { get; init; }

    public IReadOnlyList<PresentationContextProposal> Proposals { get; init; } = [];

    public IReadOnlyList<PresentationContextAnswer> Answers { get; init; } = [];

    /// <summary>Largest P-DATA PDU the sender of this PDU can receive; 0 means no limit.</summary>
    public uint MaxPduLength { get; init; }

    public string? ImplementationClassUid { get; init; }

    public string? ImplementationVersionName { get; init; }
}

/// <summary>Parses and writes PDU variable fields (PS3.8 9.3). Every length is checked against what is left.</summary>
internal static class PduCodec
{
    private const byte ApplicationContextItem = 0x10;
    private const byte PresentationContextRqItem = 0x20;
    private const byte PresentationContextAcItem = 0x21;
    private const byte AbstractSyntaxSubItem = 0x30;
    private const byte TransferSyntaxSubItem = 0x40;
    private const byte UserInformationItem = 0x50;
    private const byte MaxLengthSubItem = 0x51;
    private const byte ImplementationClassUidSubItem = 0x52;
    private const byte ImplementationVersionNameSubItem = 0x55;

    /// <summary>Fixed part of A-ASSOCIATE-RQ/AC: version, reserved, called AE, calling AE, 32 reserved.</summary>
    private const int AssociationFixedLength = 68;

    public static AssociationPdu ParseAssociation(ReadOnlySpan<byte> body, bool isRequest)
    {
        if (body.Length < AssociationFixedLength)
        {
            throw new DicomNetworkException($"A-ASSOCIATE PDU of {body.Length} bytes is shorter than its fixed fields.", AbortReason.InvalidPduParameterValue);
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(body);
        var called = AeTitle(body.Slice(4, 16));
        var calling = AeTitle(body.Slice(20, 16));
        string? applicationContext = null;
        var proposals = new List<PresentationContextProposal>();
        var answers = new List<PresentationContextAnswer>();
        uint maxPdu = 0;
        string? implementationClass = null;
        string? implementationVersion = null;

        foreach (var (type, value) in Items(body[AssociationFixedLength..], lengthSize: 2))
        {
            switch (type)
            {
                case ApplicationContextItem:
                    applicationContext = Uid(value);
                    break;
                case PresentationContextRqItem when isRequest:
                    proposals.Add(ParseProposal(value));
                    break;
                case PresentationContextAcItem when !isRequest:
                    answers.Add(ParseAnswer(value));
                    break;
                case UserInformationItem:
                    foreach (var (subType, subValue) in Items(value, lengthSize: 2))
                    {
                        switch (subType)
                        {
                            case MaxLengthSubItem when subValue.Length == 4:
                                maxPdu = BinaryPrimitives.ReadUInt32BigEndian(subValue);
                                break;
                            case MaxLengthSubItem:
                                throw new DicomNetworkException("Maximum length sub-item is not 4 bytes.", AbortReason.InvalidPduParameterValue);
                            case ImplementationClassUidSubItem:
                                implementationClass = Uid(subValue);
                                break;
                            case ImplementationVersionNameSubItem:
                                implementationVersion = Encoding.ASCII.GetString(subValue).Trim(' ', '\0');
                                break;

                            // Asynchronous operations window (0x53), role selection (0x54), extended negotiation (0x56, 0x57)
                            // and user identity (0x58): well-formed (Items checked their lengths) and ignored, which means
                            // the defaults: one operation at a time, we are SCP only, no extended features.
                        }
                    }

                    break;
                default:
                    throw new DicomNetworkException($"Unexpected item type 0x{type:X2} in an A-ASSOCIATE PDU.", AbortReason.UnrecognizedPduParameter);
            }
        }

        return new AssociationPdu
        {
            ProtocolVersion = version,
            CalledAe = called,
            CallingAe = calling,
            ApplicationContext = applicationContext,
            Proposals = proposals,
            Answers = answers,
            MaxPduLength = maxPdu,
            ImplementationClassUid = implementationClass,
            ImplementationVersionName = implementationVersion,
        };
    }

    /// <summary>Writes an A-ASSOCIATE-RQ (with <see cref="AssociationPdu.Proposals"/>) or -AC (with <see cref="AssociationPdu.Answers"/>).</summary>
    public static byte[] WriteAssociation(AssociationPdu pdu, bool isRequest)
    {
        using var body = new MemoryStream();
        Span<byte> fixedPart = stackalloc byte[AssociationFixedLength];
        fixedPart.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, 1);
        WriteAeTitle(fixedPart.Slice(4, 16), pdu.CalledAe);
        WriteAeTitle(fixedPart.Slice(20, 16), pdu.CallingAe);
        body.Write(fixedPart);

        WriteItem(body, ApplicationContextItem, Encoding.ASCII.GetBytes(DicomUids.ApplicationContext));
        if (isRequest)
        {
            foreach (var proposal in pdu.Proposals)
            {
                using var item = new MemoryStream();
                item.Write([proposal.Id, 0, 0, 0]);
                WriteItem(item, AbstractSyntaxSubItem, Encoding.ASCII.GetBytes(proposal.AbstractSyntax));
                foreach (var ts in proposal.TransferSyntaxes)
                {
                    WriteItem(item, TransferSyntaxSubItem, Encoding.ASCII.GetBytes(ts));
                }

                WriteItem(body, PresentationContextRqItem, item.ToArray());
            }
        }
        else
        {
            foreach (var answer in pdu.Answers)
            {
                using var item = new MemoryStream();
                item.Write([answer.Id, 0, (byte)answer.Result, 0]);
                WriteItem(item, TransferSyntaxSubItem, Encoding.ASCII.GetBytes(answer.TransferSyntax));
                WriteItem(body, PresentationContextAcItem, item.ToArray());
            }
        }

        using var user = new MemoryStream();
        var maxLength = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(maxLength, pdu.MaxPduLength);
        WriteItem(user, MaxLengthSubItem, maxLength);
        WriteItem(user, ImplementationClassUidSubItem, Encoding.ASCII.GetBytes(DicomUids.ImplementationClassUid));
        WriteItem(user, ImplementationVersionNameSubItem, Encoding.ASCII.GetBytes(DicomUids.ImplementationVersionName));
        WriteItem(body, UserInformationItem, user.ToArray());

        return Frame(isRequest ? PduType.AssociateRq : PduType.AssociateAc, body.ToArray());
    }

    /// <summary>A-ASSOCIATE-RJ: result 1 permanent / 2 transient, source 1 user / 2 ACSE / 3 presentation, reason per source.</summary>
    public static byte[] WriteReject(byte result, byte source, byte reason) => Frame(PduType.AssociateRj, [0, result, source, reason]);

    /// <summary>A-ABORT from the service provider (source 2) with a reason, or from the user (source 0, reason 0).</summary>
    public static byte[] WriteAbort(byte source, AbortReason reason) => Frame(PduType.Abort, [0, 0, source, source == 2 ? (byte)reason : (byte)0]);

    public static byte[] WriteReleaseRq() => Frame(PduType.ReleaseRq, [0, 0, 0, 0]);

    public static byte[] WriteReleaseRp() => Frame(PduType.ReleaseRp, [0, 0, 0, 0]);

    /// <summary>A P-DATA-TF holding one PDV: 4-byte item length, context id, message control header, fragment.</summary>
    public static void WritePData(Stream output, byte contextId, bool isCommand, bool isLast, ReadOnlySpan<byte> fragment)
    {
        Span<byte> header = stackalloc byte[12];
        header[0] = (byte)PduType.PDataTf;
        header[1] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[2..], (uint)(fragment.Length + 6));
        BinaryPrimitives.WriteUInt32BigEndian(header[6..], (uint)(fragment.Length + 2));
        header[10] = contextId;
        header[11] = (byte)((isCommand ? 1 : 0) | (isLast ? 2 : 0));
        output.Write(header);
        output.Write(fragment);
    }

    /// <summary>
    /// Items of a PDU or item body: type, reserved, length (2 or 4 bytes, big endian), value. A length running past
    /// the end is the classic lie of a hostile or broken peer.
    /// </summary>
    public static List<(byte Type, byte[] Value)> Items(ReadOnlySpan<byte> span, int lengthSize)
    {
        var items = new List<(byte, byte[])>();
        var headerLength = 2 + lengthSize;
        while (!span.IsEmpty)
        {
            if (span.Length < headerLength)
            {
                throw new DicomNetworkException("Item header runs past the end of its PDU.", AbortReason.InvalidPduParameterValue);
            }

            var length = lengthSize == 2 ? BinaryPrimitives.ReadUInt16BigEndian(span[2..]) : BinaryPrimitives.ReadUInt32BigEndian(span[2..]);
            if (length > (uint)(span.Length - headerLength))
            {
                throw new DicomNetworkException($"Item of type 0x{span[0]:X2} announces {length} bytes, more than its PDU holds.", AbortReason.InvalidPduParameterValue);
            }

            items.Add((span[0], span.Slice(headerLength, (int)length).ToArray()));
            span = span[(headerLength + (int)length)..];
        }

        return items;
    }

    private static PresentationContextProposal ParseProposal(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4)
        {
            throw new DicomNetworkException("Presentation context item is too short.", AbortReason.InvalidPduParameterValue);
        }

        string? abstractSyntax = null;
        var transferSyntaxes = new List<string>();
        foreach (var (type, sub) in Items(value[4..], lengthSize: 2))
        {
            switch (type)
            {
                case AbstractSyntaxSubItem when abstractSyntax is null:
                    abstractSyntax = Uid(sub);
                    break;
                case TransferSyntaxSubItem:
                    transferSyntaxes.Add(Uid(sub));
                    break;
                default:
                    throw new DicomNetworkException($"Unexpected sub-item 0x{type:X2} in presentation context {value[0]}.", AbortReason.UnexpectedPduParameter);
            }
        }

        if (abstractSyntax is null || transferSyntaxes.Count == 0)
        {
            throw new DicomNetworkException($"Presentation context {value[0]} lacks its abstract syntax or transfer syntaxes.", AbortReason.InvalidPduParameterValue);
        }

        return new PresentationContextProposal(value[0], abstractSyntax, transferSyntaxes);
    }

    private static PresentationContextAnswer ParseAnswer(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4)
        {
            throw new DicomNetworkException("Presentation context item is too short.", AbortReason.InvalidPduParameterValue);
        }

        var transferSyntax = string.Empty;
        foreach (var (type, sub) in Items(value[4..], lengthSize: 2))
        {
            if (type == TransferSyntaxSubItem)
            {
                transferSyntax = Uid(sub);
            }
        }

        return new PresentationContextAnswer(value[0], (PresentationContextResult)value[2], transferSyntax);
    }

    private static byte[] Frame(PduType type, byte[] body)
    {
        var pdu = new byte[6 + body.Length];
        pdu[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(2), (uint)body.Length);
        body.CopyTo(pdu, 6);
        return pdu;
    }

    private static void WriteItem(Stream output, byte type, ReadOnlySpan<byte> value)
    {
        Span<byte> header = [type, 0, (byte)(value.Length >> 8), (byte)value.Length];
        output.Write(header);
        output.Write(value);
    }

    private static void WriteAeTitle(Span<byte> field, string title)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(title.AsSpan(0, Math.Min(16, title.Length)), field);
    }

    /// <summary>AE titles compare without padding (PS3.8 9.3.2: leading and trailing spaces are not significant).</summary>
    private static string AeTitle(ReadOnlySpan<byte> field) => Encoding.ASCII.GetString(field).Trim(' ', '\0');

    /// <summary>UIDs in PDUs are not padded, but some peers pad with NUL as in data sets; both are dropped.</summary>
    private static string Uid(ReadOnlySpan<byte> value)
    {
        var uid = Encoding.ASCII.GetString(value).TrimEnd('\0', ' ');
        if (uid.Length is 0 or > 64)
        {
            throw new DicomNetworkException("UID in an A-ASSOCIATE item is empty or longer than 64 characters.", AbortReason.InvalidPduParameterValue);
        }

        return uid;
    }
}
