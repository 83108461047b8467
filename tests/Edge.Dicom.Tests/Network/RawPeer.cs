using System.Net;
using System.Net.Sockets;
using Edge.Dicom.Network;

namespace Edge.Dicom.Tests.Network;

/// <summary>
/// A hand-driven TCP peer for what no well-behaved toolkit sends: malformed PDUs, lies about lengths, objects cut off
/// halfway. Built on our own PDU codec only where the bytes must be valid.
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly PduReader _reader;

    private RawPeer(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new PduReader(_stream, 1024 * 1024);
    }

    public static async Task<RawPeer> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        return new RawPeer(client);
    }

    /// <summary>Connects and negotiates Verification plus CR storage (Explicit VR LE) as contexts 1 and 3.</summary>
    public static async Task<RawPeer> AssociateAsync(int port, string transferSyntax = DicomUids.ExplicitVrLittleEndian)
    {
        var peer = await ConnectAsync(port);
        await peer.SendAsync(PduCodec.WriteAssociation(
            new AssociationPdu
            {
                CalledAe = ScpHarness.AeTitle,
                CallingAe = "RAWPEER",
                MaxPduLength = 16384,
                Proposals =
                [
                    new PresentationContextProposal(1, DicomUids.Verification, [DicomUids.ImplicitVrLittleEndian]),
                    new PresentationContextProposal(3, DicomUids.ComputedRadiographyImageStorage, [transferSyntax]),
                ],
            },
            isRequest: true));
        var answer = await peer.ReadAsync();
        Assert.Equal(PduType.AssociateAc, answer?.Type);
        return peer;
    }

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    public async Task<Pdu?> ReadAsync() => await _reader.ReadAsync(_reader.Limit, TimeSpan.FromSeconds(60), "Test", CancellationToken.None);

    /// <summary>Sends a command set as one PDV, and optionally data set bytes as PDVs of at most <paramref name="fragment"/> bytes.</summary>
    public async Task SendMessageAsync(byte contextId, DimseCommand command, byte[]? dataSet = null, bool lastDataFragment = true, int fragment = 8192)
    {
        using var pdus = new MemoryStream();
        PduCodec.WritePData(pdus, contextId, isCommand: true, isLast: true, command.Write());
        if (dataSet is not null)
        {
            for (var offset = 0; offset < dataSet.Length; offset += fragment)
            {
                var count = Math.Min(fragment, dataSet.Length - offset);
                PduCodec.WritePData(pdus, contextId, isCommand: false, isLast: lastDataFragment && offset + count == dataSet.Length, dataSet.AsSpan(offset, count));
            }
        }

        await SendAsync(pdus.ToArray());
    }

    /// <summary>The status of the next C-STORE or C-ECHO response.</summary>
    public async Task<ushort?> ReadStatusAsync()
    {
        var pdu = await ReadAsync();
        Assert.Equal(PduType.PDataTf, pdu?.Type);
        var body = pdu!.Value.Body;
        return DimseCommand.Parse(body.Span[6..]).Status;
    }

    public async Task ReleaseAsync()
    {
        await SendAsync(PduCodec.WriteReleaseRq());
        Assert.Equal(PduType.ReleaseRp, (await ReadAsync())?.Type);
    }

    /// <summary>Reads until the server closes; the PDU types it sent before closing (an A-ABORT, usually).</summary>
    public async Task<List<PduType>> ReadUntilClosedAsync()
    {
        var seen = new List<PduType>();
        try
        {
            while (await ReadAsync() is { } pdu)
            {
                seen.Add(pdu.Type);
            }
        }
        catch (Exception ex) when (ex is IOException or DicomNetworkException)
        {
            // Reset or half a PDU: closed all the same.
        }

        return seen;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
