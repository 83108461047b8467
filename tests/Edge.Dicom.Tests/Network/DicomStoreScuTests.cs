using Edge.Dicom.Network;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Network;

/// <summary>Our C-STORE SCU against DCMTK's storescp, and against our own SCP.</summary>
public class DicomStoreScuTests
{
    [Theory]
    [InlineData("RG1_J2KI.dcm")]
    [InlineData("nonchest/RG2_JPLL.dcm")]
    public async Task SendAsync_ToStorescp_StoredWithSameDataSet(string file)
    {
        var original = Path.Combine(Repo.SharedDicom, file);
        await using var storescp = await Storescp.StartAsync();

        var status = await new DicomStoreScu().SendAsync("127.0.0.1", storescp.Port, "EDGE", Storescp.AeTitle, original, CancellationToken.None);

        Assert.True(status == DimseStatus.Success, storescp.Log);
        var written = Assert.Single(Directory.GetFiles(storescp.OutputDirectory));
        Assert.Equal(DicomScpStoreTests.DataSet(original), DicomScpStoreTests.DataSet(written), DataSetComparer.Instance);
        Assert.Contains("Received Store Request", storescp.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_ToOurScp_ObjectStoredUnchanged()
    {
        var original = Path.Combine(Repo.SharedDicom, "966_fixed.dcm");
        await using var scp = await ScpHarness.StartAsync();

        var status = await new DicomStoreScu().SendAsync("127.0.0.1", scp.Port, "EDGE_SCU", ScpHarness.AeTitle, original, CancellationToken.None);

        Assert.Equal(DimseStatus.Success, status);
        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
        Assert.Equal(DicomScpStoreTests.DataSet(original), DicomScpStoreTests.DataSet(Assert.Single(scp.ReceivedFiles())), DataSetComparer.Instance);
    }

    [Fact]
    public async Task SendAsync_CalledAeUnknown_ThrowsRejected()
    {
        await using var scp = await ScpHarness.StartAsync();

        var ex = await Assert.ThrowsAsync<DicomNetworkException>(() =>
            new DicomStoreScu().SendAsync("127.0.0.1", scp.Port, "EDGE_SCU", "NOBODY", Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm"), CancellationToken.None));

        Assert.Contains("rejected", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_FileWithoutMetaHeader_Throws()
    {
        await Assert.ThrowsAsync<DicomNetworkException>(() =>
            new DicomStoreScu().SendAsync("127.0.0.1", 1, "EDGE", "ANY", Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), CancellationToken.None));
    }

    private sealed class DataSetComparer : IEqualityComparer<(string TransferSyntax, byte[] Bytes)>
    {
        public static readonly DataSetComparer Instance = new();

        public bool Equals((string TransferSyntax, byte[] Bytes) x, (string TransferSyntax, byte[] Bytes) y) =>
            x.TransferSyntax == y.TransferSyntax && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode((string TransferSyntax, byte[] Bytes) obj) => obj.Bytes.Length;
    }
}
