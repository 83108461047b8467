using System.Buffers.Binary;
using Edge.Dicom.Network;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Network;

/// <summary>
/// Hostile and broken peers: each is aborted or dropped, leaves no temporary file, and the listener keeps serving the
/// next association (checked with DCMTK's echoscu after each).
/// </summary>
public class DicomScpProtocolErrorTests
{
    [Fact]
    public async Task Connection_GarbageBytes_AbortedAndListenerKeepsServing()
    {
        await using var scp = await ScpHarness.StartAsync();
        await using (var peer = await RawPeer.ConnectAsync(scp.Port))
        {
            await peer.SendAsync("GET / HTTP/1.1\r\nHost: edge\r\n\r\n"u8.ToArray());

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task AssociateRq_ItemLengthLies_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync();
        var rq = ValidAssociateRq();

        // The application context item (right after the 68 fixed bytes) claims 4000 bytes; the PDU holds far fewer.
        BinaryPrimitives.WriteUInt16BigEndian(rq.AsSpan(6 + 68 + 2), 4000);
        await using (var peer = await RawPeer.ConnectAsync(scp.Port))
        {
            await peer.SendAsync(rq);

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task AssociateRq_PduLengthLongerThanSent_DroppedAtArtim()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.ArtimTimeout = TimeSpan.FromSeconds(1));
        var rq = ValidAssociateRq();
        BinaryPrimitives.WriteUInt32BigEndian(rq.AsSpan(2), (uint)rq.Length + 100);
        await using (var peer = await RawPeer.ConnectAsync(scp.Port))
        {
            await peer.SendAsync(rq);

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task PData_LargerThanMaxPdu_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.MaxPduLength = 16384);
        await using (var peer = await RawPeer.AssociateAsync(scp.Port))
        {
            var header = new byte[6];
            header[0] = (byte)PduType.PDataTf;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), 16385);
            await peer.SendAsync(header);

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task PData_BeforeAssociation_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync();
        await using (var peer = await RawPeer.ConnectAsync(scp.Port))
        {
            using var pdu = new MemoryStream();
            PduCodec.WritePData(pdu, 1, isCommand: true, isLast: true, EchoCommand().Write());
            await peer.SendAsync(pdu.ToArray());

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task PData_ForContextNotAccepted_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync();
        await using (var peer = await RawPeer.AssociateAsync(scp.Port))
        {
            await peer.SendMessageAsync(7, EchoCommand());

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task PData_DataBeforeCommand_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync();
        await using (var peer = await RawPeer.AssociateAsync(scp.Port))
        {
            using var pdu = new MemoryStream();
            PduCodec.WritePData(pdu, 3, isCommand: false, isLast: true, new byte[16]);
            await peer.SendAsync(pdu.ToArray());

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task Store_StreamCutMidObject_TemporaryFileRemoved()
    {
        await using var scp = await ScpHarness.StartAsync();
        var dataSet = DicomScpStoreTests.DataSet(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm")).Bytes;
        await using (var peer = await RawPeer.AssociateAsync(scp.Port, DicomUids.ImplicitVrLittleEndian))
        {
            await peer.SendMessageAsync(3, StoreCommand(DicomUids.ComputedRadiographyImageStorage), dataSet[..(dataSet.Length / 2)], lastDataFragment: false);
        }

        await AssertStillServingAsync(scp, AssociationEnd.ConnectionLost);
        Assert.Empty(scp.ReceivedFiles());
    }

    [Fact]
    public async Task Store_DataSetNotParseable_CannotUnderstandAndNothingKept()
    {
        await using var scp = await ScpHarness.StartAsync();
        var dataSet = DicomScpStoreTests.DataSet(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm")).Bytes;
        await using (var peer = await RawPeer.AssociateAsync(scp.Port, DicomUids.ImplicitVrLittleEndian))
        {
            // Cut inside the pixel data: its length now runs past the end.
            await peer.SendMessageAsync(3, StoreCommand(DicomUids.ComputedRadiographyImageStorage), dataSet[..^100]);

            Assert.Equal(DimseStatus.CannotUnderstand, await peer.ReadStatusAsync());
            await peer.ReleaseAsync();
        }

        await AssertStillServingAsync(scp, AssociationEnd.Released);
        Assert.Empty(scp.ReceivedFiles());
    }

    [Fact]
    public async Task Store_SopClassDiffersFromContext_DataSetDoesNotMatchSopClass()
    {
        await using var scp = await ScpHarness.StartAsync();
        var dataSet = DicomScpStoreTests.DataSet(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm")).Bytes;
        await using (var peer = await RawPeer.AssociateAsync(scp.Port, DicomUids.ImplicitVrLittleEndian))
        {
            await peer.SendMessageAsync(3, StoreCommand(DicomUids.CtImageStorage), dataSet);

            Assert.Equal(DimseStatus.DataSetDoesNotMatchSopClass, await peer.ReadStatusAsync());
            await peer.ReleaseAsync();
        }

        await AssertStillServingAsync(scp, AssociationEnd.Released);
        Assert.Empty(scp.ReceivedFiles());
    }

    [Fact]
    public async Task Store_ObjectLargerThanLimit_AbortedAndTemporaryFileRemoved()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.MaxObjectSize = 100_000);
        var dataSet = DicomScpStoreTests.DataSet(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm")).Bytes;
        await using (var peer = await RawPeer.AssociateAsync(scp.Port, DicomUids.ImplicitVrLittleEndian))
        {
            await peer.SendMessageAsync(3, StoreCommand(DicomUids.ComputedRadiographyImageStorage), dataSet);

            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
    }

    [Fact]
    public async Task Connection_SilentClient_DroppedAfterArtim()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.ArtimTimeout = TimeSpan.FromMilliseconds(500));
        await using (var peer = await RawPeer.ConnectAsync(scp.Port))
        {
            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
        Assert.True(scp.Log.Contains("ARTIM timeout"));
    }

    [Fact]
    public async Task Association_NoPduWithinIdleTimeout_Aborted()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.IdleTimeout = TimeSpan.FromMilliseconds(500));
        await using (var peer = await RawPeer.AssociateAsync(scp.Port))
        {
            Assert.Equal([PduType.Abort], await peer.ReadUntilClosedAsync());
        }

        await AssertStillServingAsync(scp, AssociationEnd.AbortedByUs);
        Assert.True(scp.Log.Contains("Idle timeout"));
    }

    private static async Task AssertStillServingAsync(ScpHarness scp, AssociationEnd expectedEnd)
    {
        Assert.Equal(expectedEnd, await scp.NextEndAsync());
        Assert.Empty(scp.TemporaryFiles());

        var echo = await scp.EchoAsync();
        Assert.True(echo.ExitCode == 0, echo.Stdout + echo.Stderr);
        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
    }

    private static byte[] ValidAssociateRq() => PduCodec.WriteAssociation(
        new AssociationPdu
        {
            CalledAe = ScpHarness.AeTitle,
            CallingAe = "RAWPEER",
            MaxPduLength = 16384,
            Proposals = [new PresentationContextProposal(1, DicomUids.Verification, [DicomUids.ImplicitVrLittleEndian])],
        },
        isRequest: true);

    private static DimseCommand EchoCommand() => new()
    {
        Field = 0x0030,
        MessageId = 1,
        AffectedSopClassUid = DicomUids.Verification,
        HasDataSet = false,
    };

    private static DimseCommand StoreCommand(string sopClass) => new()
    {
        Field = 0x0001,
        MessageId = 1,
        Priority = 0,
        AffectedSopClassUid = sopClass,
        AffectedSopInstanceUid = "1.2.3.4.5",
        HasDataSet = true,
    };
}
