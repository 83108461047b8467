using System.Buffers.Binary;
using System.Net.Sockets;

namespace Edge.Dicom.Network;

/// <summary>How the C-STORE SCU behaves.</summary>
public sealed class DicomStoreScuOptions
{
    /// <summary>Connect, association answer, C-STORE response and release answer must each come within this.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest PDU we accept from the peer (advertised in the request); also bounds our receive buffer.</summary>
    public int MaxPduLength { get; set; } = 64 * 1024;
}

/// <summary>
/// Sends one Part-10 file per association with C-STORE, in the transfer syntax it is stored in: the SCU never
/// transcodes, so the only context proposed is (file's SOP class, file's transfer syntax). Our own results are
/// written in Explicit VR Little Endian, which every storage SCP accepts. Retrying is the caller's business (the
/// outbox); this class says what happened once.
/// </summary>
public sealed class DicomStoreScu
{
    private const byte ContextId = 1;

    private readonly DicomStoreScuOptions _options;

    public DicomStoreScu(DicomStoreScuOptions? options = null)
    {
        _options = options ?? new DicomStoreScuOptions();
        if (_options.Timeout <= TimeSpan.Zero || _options.MaxPduLength is < 4096 or > 16 * 1024 * 1024)
        {
            throw new ArgumentException("DicomStoreScuOptions: Timeout must be positive and MaxPduLength 4096..16777216.", nameof(options));
        }
    }

    /// <summary>The C-STORE response status (see <see cref="DimseStatus"/>).</summary>
    /// <exception cref="DicomNetworkException">Rejected, aborted, timed out, no accepted context, or the file is not Part 10.</exception>
    public async Task<ushort> SendAsync(string host, int port, string callingAe, string calledAe, string filePath, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        if (!DicomScpOptions.IsValidAeTitle(callingAe) || !DicomScpOptions.IsValidAeTitle(calledAe))
        {
            throw new ArgumentException("AE titles must be 1 to 16 printable ASCII characters.");
        }

        await using var file = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        var meta = Part10.ReadFileMetaInformation(file);

        using var client = new TcpClient { NoDelay = true };
        using (var connectTimer = Timer(cancellationToken))
        {
            try
            {
                await client.ConnectAsync(host, port, connectTimer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DicomNetworkException($"No connection to {host}:{port} within {_options.Timeout}.");
            }
            catch (SocketException ex)
            {
                throw new DicomNetworkException($"Cannot connect to {host}:{port}: {ex.Message}", ex);
            }
        }

        var stream = client.GetStream();
        var reader = new PduReader(stream, Math.Max(_options.MaxPduLength, 64 * 1024));
        try
        {
            var request = new AssociationPdu
            {
                CalledAe = calledAe,
                CallingAe = callingAe,
                Proposals = [new PresentationContextProposal(ContextId, meta.SopClassUid, [meta.TransferSyntaxUid])],
                MaxPduLength = (uint)_options.MaxPduLength,
            };
            await stream.WriteAsync(PduCodec.WriteAssociation(request, isRequest: true), cancellationToken).ConfigureAwait(false);

            var answer = await ExpectAsync(reader, cancellationToken).ConfigureAwait(false);
            if (answer.Type == PduType.AssociateRj)
            {
                var b = answer.Body.Span;
                throw new DicomNetworkException($"Association rejected by {calledAe} (result {b[1]}, source {b[2]}, reason {b[3]}).");
            }

            if (answer.Type != PduType.AssociateAc)
            {
                throw new DicomNetworkException($"Expected A-ASSOCIATE-AC, got PDU type 0x{(byte)answer.Type:X2}.", AbortReason.UnexpectedPdu);
            }

            var accepted = PduCodec.ParseAssociation(answer.Body.Span, isRequest: false);
            if (!accepted.Answers.Any(a => a.Id == ContextId && a.Result == PresentationContextResult.Acceptance && a.TransferSyntax == meta.TransferSyntaxUid))
            {
                throw new DicomNetworkException($"{calledAe} accepts neither the SOP class nor the transfer syntax of the file.");
            }

            // Each PDU carries one PDV: 6 bytes of PDV header inside the peer's maximum.
            var maxFragment = accepted.MaxPduLength == 0 ? _options.MaxPduLength - 6 : (int)Math.Min(Math.Max(accepted.MaxPduLength, 16u) - 6, 1024 * 1024);
            var command = new DimseCommand
            {
                Field = CommandField.CStoreRq,
                MessageId = 1,
                Priority = 0,
                HasDataSet = true,
                AffectedSopClassUid = meta.SopClassUid,
                AffectedSopInstanceUid = meta.SopInstanceUid,
            }.Write();
            await SendFragmentsAsync(stream, new MemoryStream(command), isCommand: true, maxFragment, cancellationToken).ConfigureAwait(false);
            await SendFragmentsAsync(stream, file, isCommand: false, maxFragment, cancellationToken).ConfigureAwait(false);

            var status = await ReadResponseStatusAsync(reader, cancellationToken).ConfigureAwait(false);

            await stream.WriteAsync(PduCodec.WriteReleaseRq(), cancellationToken).ConfigureAwait(false);
            var release = await ExpectAsync(reader, cancellationToken).ConfigureAwait(false);
            if (release.Type != PduType.ReleaseRp)
            {
                throw new DicomNetworkException($"Expected A-RELEASE-RP, got PDU type 0x{(byte)release.Type:X2}.", AbortReason.UnexpectedPdu);
            }

            return status;
        }
        catch (DicomNetworkException)
        {
            await TryAbortAsync(stream).ConfigureAwait(false);
            throw;
        }
        catch (IOException ex)
        {
            throw new DicomNetworkException($"Connection to {host}:{port} lost: {ex.Message}", ex);
        }
    }

    private static async Task SendFragmentsAsync(Stream output, Stream source, bool isCommand, int maxFragment, CancellationToken cancellationToken)
    {
        var buffer = new byte[maxFragment];
        var remaining = source.Length - source.Position;
        using var pdu = new MemoryStream(maxFragment + 12);
        do
        {
            var count = (int)Math.Min(maxFragment, remaining);
            await source.ReadExactlyAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            remaining -= count;
            pdu.SetLength(0);
            PduCodec.WritePData(pdu, ContextId, isCommand, isLast: remaining == 0, buffer.AsSpan(0, count));
            await output.WriteAsync(pdu.GetBuffer().AsMemory(0, (int)pdu.Length), cancellationToken).ConfigureAwait(false);
        }
        while (remaining > 0);
    }

    private async Task<ushort> ReadResponseStatusAsync(PduReader reader, CancellationToken cancellationToken)
    {
        using var command = new MemoryStream();
        while (true)
        {
            var pdu = await ExpectAsync(reader, cancellationToken).ConfigureAwait(false);
            if (pdu.Type != PduType.PDataTf)
            {
                throw new DicomNetworkException($"Expected the C-STORE response, got PDU type 0x{(byte)pdu.Type:X2}.", AbortReason.UnexpectedPdu);
            }

            var body = pdu.Body;
            while (body.Length >= 6)
            {
                var length = BinaryPrimitives.ReadUInt32BigEndian(body.Span);
                if (length < 2 || length > body.Length - 4)
                {
                    throw new DicomNetworkException("PDV length does not fit its PDU.", AbortReason.InvalidPduParameterValue);
                }

                var control = body.Span[5];
                if ((control & 1) == 0)
                {
                    throw new DicomNetworkException("Data fragment where the C-STORE response was expected.", AbortReason.UnexpectedPduParameter);
                }

                command.Write(body.Span.Slice(6, (int)length - 2));
                body = body[(4 + (int)length)..];
                if ((control & 2) != 0)
                {
                    var response = DimseCommand.Parse(command.ToArray());
                    return response.Field == CommandField.CStoreRsp && response.Status is { } status
                        ? status
                        : throw new DicomNetworkException("The response is not a C-STORE response with a status.", AbortReason.UnexpectedPduParameter);
                }
            }
        }
    }

    /// <summary>The next PDU within the timeout; an A-ABORT or a closed connection ends the send.</summary>
    private async Task<Pdu> ExpectAsync(PduReader reader, CancellationToken cancellationToken)
    {
        var pdu = await reader.ReadAsync(reader.Limit, _options.Timeout, "Response", cancellationToken).ConfigureAwait(false)
            ?? throw new DicomNetworkException("The peer closed the connection.");
        if (pdu.Type == PduType.Abort)
        {
            throw new DicomNetworkException("The peer aborted the association.");
        }

        return pdu;
    }

    private static async Task TryAbortAsync(Stream stream)
    {
        try
        {
            using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await stream.WriteAsync(PduCodec.WriteAbort(0, AbortReason.NotSpecified), timer.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Gone already.
        }
    }

    private CancellationTokenSource Timer(CancellationToken cancellationToken)
    {
        var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(_options.Timeout);
        return timer;
    }
}
