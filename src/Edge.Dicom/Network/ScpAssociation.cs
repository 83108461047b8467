using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Edge.Dicom.Network;

/// <summary>How one connection ended, for the listener's bookkeeping and for tests that await it.</summary>
internal enum AssociationEnd
{
    ClosedBeforeRequest,
    Rejected,
    Released,
    AbortedByUs,
    AbortedByPeer,
    ConnectionLost,
}

/// <summary>
/// One connection, from TCP accept to close: negotiation, then C-ECHO and C-STORE, one operation at a time (we grant
/// no asynchronous window). Every protocol violation ends here as an A-ABORT; nothing escapes to the listener.
/// Memory is one PDU buffer and one command set; object bytes go straight from that buffer to a temporary file.
/// </summary>
internal sealed class ScpAssociation
{
    /// <summary>Command sets are a few hundred bytes; anything near this is not a C-ECHO or C-STORE request.</summary>
    private const int MaxCommandLength = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly DicomScpOptions _options;
    private readonly IDicomStoreSink _sink;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly IPAddress _address;
    private readonly PduReader _reader;
    private readonly Dictionary<byte, (string AbstractSyntax, string TransferSyntax)> _contexts = [];
    private readonly MemoryStream _commandBytes = new();

    private string _callingAe = "?";
    private uint _peerMaxPdu;
    private byte? _commandContext;
    private IncomingObject? _incoming;
    private int _objects;

    public ScpAssociation(Socket socket, DicomScpOptions options, IDicomStoreSink sink, ILogger logger, SemaphoreSlim slots)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _options = options;
        _sink = sink;
        _logger = logger;
        _slots = slots;
        _address = (socket.RemoteEndPoint as IPEndPoint)?.Address.MapToIPv4() ?? IPAddress.None;

        // Association requests may be larger than the P-DATA limit (a console proposing every SOP class it knows).
        _reader = new PduReader(_stream, Math.Max(options.MaxPduLength, 64 * 1024));
    }

    public async Task<AssociationEnd> RunAsync(CancellationToken cancellationToken)
    {
        var holdsSlot = false;
        try
        {
            var request = await _reader.ReadAsync(_reader.Limit, _options.ArtimTimeout, "ARTIM", cancellationToken).ConfigureAwait(false);
            if (request is not { } rq)
            {
                NetworkLog.ClosedBeforeRequest(_logger, _address);
                return AssociationEnd.ClosedBeforeRequest;
            }

            if (rq.Type != PduType.AssociateRq)
            {
                throw new DicomNetworkException($"Expected an A-ASSOCIATE-RQ, got PDU type 0x{(byte)rq.Type:X2}.", AbortReason.UnexpectedPdu);
            }

            var association = PduCodec.ParseAssociation(rq.Body.Span, isRequest: true);
            _callingAe = association.CallingAe;
            if (Refusal(association) is { } refusal)
            {
                await SendAsync(PduCodec.WriteReject(refusal.Result, refusal.Source, refusal.Reason), cancellationToken).ConfigureAwait(false);
                NetworkLog.Rejected(_logger, association.CallingAe, _address, association.CalledAe, refusal.Why);
                await CloseGracefullyAsync().ConfigureAwait(false);
                return AssociationEnd.Rejected;
            }

            holdsSlot = _slots.Wait(0);
            if (!holdsSlot)
            {
                // Transient, so the console retries later instead of giving up on the image.
                await SendAsync(PduCodec.WriteReject(2, 3, 1), cancellationToken).ConfigureAwait(false);
                NetworkLog.Rejected(_logger, association.CallingAe, _address, association.CalledAe, "temporary congestion (all association slots busy)");
                await CloseGracefullyAsync().ConfigureAwait(false);
                return AssociationEnd.Rejected;
            }

            await AcceptAsync(association, cancellationToken).ConfigureAwait(false);
            return await ServeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DicomNetworkException ex)
        {
            await AbortAsync(ex.Reason).ConfigureAwait(false);
            NetworkLog.AbortedByUs(_logger, _callingAe, _address, ex.Message);
            return AssociationEnd.AbortedByUs;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await AbortAsync(AbortReason.NotSpecified).ConfigureAwait(false);
            NetworkLog.AbortedByUs(_logger, _callingAe, _address, "the service is stopping");
            return AssociationEnd.AbortedByUs;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            NetworkLog.ConnectionLost(_logger, _callingAe, _address, ex.Message);
            return AssociationEnd.ConnectionLost;
        }
        catch (Exception ex)
        {
            // A bug of ours, not the peer's: still only this association ends.
            NetworkLog.Unexpected(_logger, _address, ex);
            await AbortAsync(AbortReason.NotSpecified).ConfigureAwait(false);
            return AssociationEnd.AbortedByUs;
        }
        finally
        {
            _incoming?.Discard();
            _incoming = null;
            await _stream.DisposeAsync().ConfigureAwait(false);
            if (holdsSlot)
            {
                _slots.Release();
            }
        }
    }

    /// <summary>Why an association request is refused, as A-ASSOCIATE-RJ fields (PS3.8 9.3.4), or null to accept it.</summary>
    private (byte Result, byte Source, byte Reason, string Why)? Refusal(AssociationPdu rq)
    {
        if ((rq.ProtocolVersion & 1) == 0)
        {
            return (1, 2, 2, "protocol version not supported");
        }

        if (rq.ApplicationContext != DicomUids.ApplicationContext)
        {
            return (1, 1, 2, "application context name not supported");
        }

        if (!string.Equals(rq.CalledAe, _options.AeTitle.Trim(' '), StringComparison.Ordinal))
        {
            return (1, 1, 7, "called AE title not recognised");
        }

        if (_options.AllowedCallingAeTitles.Count > 0 && !_options.AllowedCallingAeTitles.Any(t => string.Equals(t.Trim(' '), rq.CallingAe, StringComparison.Ordinal)))
        {
            return (1, 1, 3, "calling AE title not recognised");
        }

        if (_options.AllowedAddresses.Count > 0 && !_options.AllowedAddresses.Any(a => a.MapToIPv4().Equals(_address)))
        {
            return (1, 1, 1, "address not allowed");
        }

        return null;
    }

    private async Task AcceptAsync(AssociationPdu rq, CancellationToken cancellationToken)
    {
        var answers = new List<PresentationContextAnswer>();
        foreach (var proposal in rq.Proposals)
        {
            var answer = Negotiation.Answer(proposal);
            if (answer.Result == PresentationContextResult.Acceptance && !_contexts.TryAdd(proposal.Id, (proposal.AbstractSyntax, answer.TransferSyntax)))
            {
                throw new DicomNetworkException($"Presentation context {proposal.Id} proposed twice.", AbortReason.InvalidPduParameterValue);
            }

            answers.Add(answer);
        }

        _peerMaxPdu = rq.MaxPduLength;
        var ac = new AssociationPdu
        {
            CalledAe = rq.CalledAe,
            CallingAe = rq.CallingAe,
            Answers = answers,
            MaxPduLength = (uint)_options.MaxPduLength,
        };
        await SendAsync(PduCodec.WriteAssociation(ac, isRequest: false), cancellationToken).ConfigureAwait(false);
        NetworkLog.Accepted(_logger, _callingAe, _address, _contexts.Count, rq.Proposals.Count);
    }

    private async Task<AssociationEnd> ServeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var next = await _reader.ReadAsync(_options.MaxPduLength, _options.IdleTimeout, "Idle", cancellationToken).ConfigureAwait(false);
            if (next is not { } pdu)
            {
                throw new IOException("the peer closed the connection without releasing the association");
            }

            switch (pdu.Type)
            {
                case PduType.PDataTf:
                    await OnPDataAsync(pdu.Body, cancellationToken).ConfigureAwait(false);
                    break;
                case PduType.ReleaseRq:
                    if (_incoming is not null || _commandBytes.Length > 0)
                    {
                        throw new DicomNetworkException("A-RELEASE-RQ in the middle of a message.", AbortReason.UnexpectedPdu);
                    }

                    await SendAsync(PduCodec.WriteReleaseRp(), cancellationToken).ConfigureAwait(false);
                    NetworkLog.Released(_logger, _callingAe, _address, _objects);
                    await CloseGracefullyAsync().ConfigureAwait(false);
                    return AssociationEnd.Released;
                case PduType.Abort:
                    NetworkLog.AbortedByPeer(_logger, _callingAe, _address);
                    return AssociationEnd.AbortedByPeer;
                default:
                    throw new DicomNetworkException($"Unexpected PDU type 0x{(byte)pdu.Type:X2} on an established association.", AbortReason.UnexpectedPdu);
            }
        }
    }

    /// <summary>PDVs of one P-DATA-TF (PS3.8 9.3.5): 4-byte length, context id, message control header, fragment.</summary>
    private async Task OnPDataAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (body.IsEmpty)
        {
            throw new DicomNetworkException("P-DATA-TF without PDVs.", AbortReason.InvalidPduParameterValue);
        }

        while (!body.IsEmpty)
        {
            if (body.Length < 6)
            {
                throw new DicomNetworkException("PDV header runs past the end of its PDU.", AbortReason.InvalidPduParameterValue);
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(body.Span);
            if (length < 2 || length > (uint)(body.Length - 4))
            {
                throw new DicomNetworkException($"PDV length {length} does not fit its PDU.", AbortReason.InvalidPduParameterValue);
            }

            var contextId = body.Span[4];
            var control = body.Span[5];
            var fragment = body.Slice(6, (int)length - 2);
            body = body[(4 + (int)length)..];

            if (!_contexts.ContainsKey(contextId))
            {
                throw new DicomNetworkException($"PDV for presentation context {contextId}, which was not accepted.", AbortReason.InvalidPduParameterValue);
            }

            if ((control & 0xFC) != 0)
            {
                throw new DicomNetworkException($"PDV message control header 0x{control:X2} has reserved bits set.", AbortReason.InvalidPduParameterValue);
            }

            var isCommand = (control & 1) != 0;
            var isLast = (control & 2) != 0;
            if (isCommand)
            {
                await OnCommandFragmentAsync(contextId, fragment, isLast, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await OnDataFragmentAsync(contextId, fragment, isLast, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task OnCommandFragmentAsync(byte contextId, ReadOnlyMemory<byte> fragment, bool isLast, CancellationToken cancellationToken)
    {
        if (_incoming is not null)
        {
            throw new DicomNetworkException("Command fragment while a data set was expected.", AbortReason.UnexpectedPduParameter);
        }

        if (_commandContext is { } current && current != contextId)
        {
            throw new DicomNetworkException("Command fragments on two presentation contexts.", AbortReason.UnexpectedPduParameter);
        }

        if (_commandBytes.Length + fragment.Length > MaxCommandLength)
        {
            throw new DicomNetworkException("Command set is larger than any C-ECHO or C-STORE request.", AbortReason.InvalidPduParameterValue);
        }

        _commandContext = contextId;
        _commandBytes.Write(fragment.Span);
        if (!isLast)
        {
            return;
        }

        var command = DimseCommand.Parse(_commandBytes.GetBuffer().AsSpan(0, (int)_commandBytes.Length));
        _commandBytes.SetLength(0);
        _commandContext = null;

        var (abstractSyntax, transferSyntax) = _contexts[contextId];
        switch (command.Field)
        {
            case CommandField.CEchoRq when abstractSyntax == DicomUids.Verification && !command.HasDataSet:
                await SendCommandAsync(contextId, new DimseCommand
                {
                    Field = CommandField.CEchoRsp,
                    AffectedSopClassUid = DicomUids.Verification,
                    MessageIdBeingRespondedTo = command.MessageId ?? 0,
                    HasDataSet = false,
                    Status = DimseStatus.Success,
                }, cancellationToken).ConfigureAwait(false);
                break;
            case CommandField.CStoreRq when abstractSyntax != DicomUids.Verification && command.HasDataSet:
                _incoming = StartObject(contextId, command, abstractSyntax, transferSyntax);
                break;
            default:
                throw new DicomNetworkException($"Command 0x{command.Field:X4} is not a C-ECHO or C-STORE request valid on its presentation context.", AbortReason.UnexpectedPduParameter);
        }
    }

    /// <summary>
    /// Decides before the first data byte whether the object can be kept: if not, its data is still read (the protocol
    /// has no way to stop a sender mid-object short of aborting) but never written, and the refusal is the answer.
    /// </summary>
    private IncomingObject StartObject(byte contextId, DimseCommand command, string abstractSyntax, string transferSyntax)
    {
        var sopClass = command.AffectedSopClassUid ?? string.Empty;
        var sopInstance = command.AffectedSopInstanceUid ?? string.Empty;
        var incoming = new IncomingObject(contextId, command.MessageId ?? 0, sopClass, sopInstance, transferSyntax);
        if (sopClass.Length == 0 || sopInstance.Length == 0)
        {
            return incoming.Refuse(DimseStatus.CannotUnderstand, "the C-STORE request lacks its affected SOP class or instance UID");
        }

        if (sopClass != abstractSyntax)
        {
            return incoming.Refuse(DimseStatus.DataSetDoesNotMatchSopClass, "the SOP class differs from the presentation context's abstract syntax");
        }

        if (FreeBytes() is { } free && free < _options.FreeDiskFloorBytes)
        {
            return incoming.Refuse(DimseStatus.OutOfResources, $"free disk {free / (1024 * 1024)} MiB is under the floor of {_options.FreeDiskFloorBytes / (1024 * 1024)} MiB");
        }

        try
        {
            var path = Path.Combine(_options.TemporaryDirectory, DicomScp.TemporaryFilePrefix + Guid.NewGuid().ToString("N") + ".part");
            incoming.Open(path, Part10.FileMetaInformationBytes(sopClass, sopInstance, transferSyntax, _callingAe));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            incoming.Discard();
            return incoming.Refuse(DimseStatus.OutOfResources, "the temporary file cannot be created: " + ex.Message);
        }

        return incoming;
    }

    private long? FreeBytes()
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(_options.TemporaryDirectory)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private async Task OnDataFragmentAsync(byte contextId, ReadOnlyMemory<byte> fragment, bool isLast, CancellationToken cancellationToken)
    {
        if (_incoming is not { } incoming)
        {
            throw new DicomNetworkException("Data fragment without a C-STORE request before it.", AbortReason.UnexpectedPduParameter);
        }

        if (incoming.ContextId != contextId)
        {
            throw new DicomNetworkException("Data fragment on another presentation context than its command.", AbortReason.UnexpectedPduParameter);
        }

        if (incoming.Received + fragment.Length > _options.MaxObjectSize)
        {
            throw new DicomNetworkException($"Object larger than the {_options.MaxObjectSize} bytes accepted.", AbortReason.NotSpecified);
        }

        await incoming.WriteAsync(fragment, cancellationToken).ConfigureAwait(false);
        if (!isLast)
        {
            return;
        }

        _incoming = null;
        var status = await CompleteAsync(incoming, cancellationToken).ConfigureAwait(false);
        await SendCommandAsync(contextId, new DimseCommand
        {
            Field = CommandField.CStoreRsp,
            AffectedSopClassUid = incoming.SopClassUid,
            AffectedSopInstanceUid = incoming.SopInstanceUid,
            MessageIdBeingRespondedTo = incoming.MessageId,
            HasDataSet = false,
            Status = status,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The durability rule: flushed, checked, handed to the sink, and only then a status; on any failure the file goes.</summary>
    private async Task<ushort> CompleteAsync(IncomingObject incoming, CancellationToken cancellationToken)
    {
        try
        {
            if (incoming.RefusedWith is { } refused)
            {
                NetworkLog.StoreRefused(_logger, _callingAe, _address, refused, incoming.RefusalReason!);
                return refused;
            }

            var path = await incoming.FinishAsync(cancellationToken).ConfigureAwait(false);
            if (path is null)
            {
                NetworkLog.StoreRefused(_logger, _callingAe, _address, incoming.RefusedWith!.Value, incoming.RefusalReason!);
                return incoming.RefusedWith!.Value;
            }

            var explicitVr = incoming.TransferSyntax != DicomUids.ImplicitVrLittleEndian;
            string? malformed;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096))
            {
                Part10.ReadFileMetaInformation(file);
                malformed = DataSetWalker.Check(file, explicitVr);
            }

            if (malformed is not null)
            {
                NetworkLog.StoreRefused(_logger, _callingAe, _address, DimseStatus.CannotUnderstand, "not a data set in the negotiated transfer syntax: " + malformed);
                return DimseStatus.CannotUnderstand;
            }

            var outcome = await _sink.AcceptAsync(
                new ReceivedDicomObject(path, incoming.SopClassUid, incoming.SopInstanceUid, incoming.TransferSyntax, _callingAe, _address, DateTimeOffset.UtcNow),
                cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case StoreOutcome.Stored:
                    _objects++;
                    NetworkLog.Stored(_logger, incoming.SopInstanceUid, incoming.SopClassUid, incoming.TransferSyntax, _callingAe);
                    return DimseStatus.Success;
                case StoreOutcome.OutOfResources:
                    NetworkLog.StoreRefused(_logger, _callingAe, _address, DimseStatus.OutOfResources, "the sink is out of space");
                    return DimseStatus.OutOfResources;
                default:
                    NetworkLog.StoreRefused(_logger, _callingAe, _address, DimseStatus.ProcessingFailure, "the sink could not keep the object");
                    return DimseStatus.ProcessingFailure;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DicomNetworkException)
        {
            NetworkLog.StoreRefused(_logger, _callingAe, _address, DimseStatus.ProcessingFailure, ex.Message);
            return DimseStatus.ProcessingFailure;
        }
        finally
        {
            // After a successful hand-over the sink has moved the file away; otherwise nothing half-written stays behind.
            incoming.Discard();
        }
    }

    private async Task SendCommandAsync(byte contextId, DimseCommand command, CancellationToken cancellationToken)
    {
        var bytes = command.Write();

        // The peer's maximum bounds each P-DATA PDU: 6 bytes of PDU header excluded, 6 of PDV header included.
        // Found by fuzzing: a peer maximum of 1..6 must not wrap the unsigned subtraction.
        var maxFragment = _peerMaxPdu is 0 or > int.MaxValue ? bytes.Length : (int)Math.Max(1, (long)_peerMaxPdu - 6);
        using var output = new MemoryStream();
        for (var offset = 0; offset < bytes.Length; offset += maxFragment)
        {
            var count = Math.Min(maxFragment, bytes.Length - offset);
            PduCodec.WritePData(output, contextId, isCommand: true, isLast: offset + count == bytes.Length, bytes.AsSpan(offset, count));
        }

        await SendAsync(output.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(byte[] pdu, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(_options.IdleTimeout);
        await _stream.WriteAsync(pdu, timer.Token).ConfigureAwait(false);
    }

    private async Task AbortAsync(AbortReason reason)
    {
        try
        {
            using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _stream.WriteAsync(PduCodec.WriteAbort(2, reason), timer.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer is already gone: the abort was a courtesy.
        }

        await CloseGracefullyAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Half-closes and waits (ARTIM at most) for the peer to close: closing with unread bytes in the socket makes the
    /// kernel send RST, which can destroy the RJ/RP/A-ABORT we just sent before the peer reads it.
    /// </summary>
    private async Task CloseGracefullyAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            using var timer = new CancellationTokenSource(_options.ArtimTimeout);
            var sink = new byte[4096];
            while (await _stream.ReadAsync(sink, timer.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Closed either way.
        }
    }
}
