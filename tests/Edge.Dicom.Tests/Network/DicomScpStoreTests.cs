using Edge.Dicom.Network;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Network;

/// <summary>C-STORE from DCMTK's storescu: what arrives is a Part-10 file holding exactly the data set that was sent.</summary>
public class DicomScpStoreTests
{
    /// <summary>Read in place (not copied to the output), so the test project file needs no entry for them.</summary>
    private static string FixtureDirectory => Path.Combine(Repo.Root, "tests", "Edge.Dicom.Tests", "Fixtures", "Network");

    /// <summary>Every shared file (nonchest/ too) and the generated bit depth / photometric variants (Fixtures/Network).</summary>
    public static TheoryData<string> Files =>
    [
        .. Directory.GetFiles(Repo.SharedDicom, "*.dcm", SearchOption.AllDirectories).Select(f => "shared/" + Path.GetRelativePath(Repo.SharedDicom, f)).Order(StringComparer.Ordinal),
        .. Directory.GetFiles(FixtureDirectory, "*.dcm").Select(f => "fixture/" + Path.GetFileName(f)).Order(StringComparer.Ordinal),
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Store_File_ArrivesAsPart10WithSameDataSet(string file)
    {
        var original = file.StartsWith("shared/", StringComparison.Ordinal)
            ? Path.Combine(Repo.SharedDicom, file["shared/".Length..])
            : Path.Combine(FixtureDirectory, file["fixture/".Length..]);
        await using var scp = await ScpHarness.StartAsync();

        var store = await scp.StoreAsync([original], [ProposalFor(original)]);

        Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);
        Assert.Contains("Received Store Response (Success)", store.Stdout + store.Stderr, StringComparison.Ordinal);
        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
        var received = Assert.Single(scp.ReceivedFiles());
        Assert.Empty(scp.TemporaryFiles());

        var sent = await DcmdumpAsync(original);
        var kept = await DcmdumpAsync(received);
        Assert.Equal(Line(sent, "(0008,0018)"), Line(kept, "(0008,0018)"));
        Assert.Equal(Line(sent, "(7fe0,0010)"), Line(kept, "(7fe0,0010)"));
        Assert.Contains("(0002,0016) AE [CONSOLE]", kept, StringComparison.Ordinal);
        Assert.Contains($"(0002,0012) UI [{DicomUids.ImplementationClassUid}]", kept, StringComparison.Ordinal);

        // storescu re-encodes on the way (sequence lengths), so the bytes it sends are what DCMTK's bit-preserving
        // storescp keeps from the same command: ours must hold exactly those.
        await using var reference = await Storescp.StartAsync();
        var referenceStore = await reference.StoreAsync(original, ProposalFor(original));
        Assert.True(referenceStore.ExitCode == 0, referenceStore.Stdout + referenceStore.Stderr);
        var (sentSyntax, sentBytes) = DataSet(Assert.Single(Directory.GetFiles(reference.OutputDirectory)));
        var (keptSyntax, keptBytes) = DataSet(received);
        Assert.Equal(sentSyntax, keptSyntax);
        Assert.True(sentBytes.AsSpan().SequenceEqual(keptBytes), "The stored data set differs from the one sent.");
        Assert.Equal(DicomFileReader.Read(original).Pixels.Pixels, DicomFileReader.Read(received).Pixels.Pixels);
    }

    [Fact]
    public async Task Store_FourConcurrentAssociationsOfFiveFiles_AllStored()
    {
        var small = Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");
        await using var scp = await ScpHarness.StartAsync(o => o.MaxAssociations = 4);

        // +II gives every copy its own SOP Instance UID, so 20 objects land as 20 files.
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => scp.StoreAsync([small, small, small, small, small], ["+II"])));

        Assert.All(stores, s => Assert.True(s.ExitCode == 0, s.Stdout + s.Stderr));
        Assert.All(stores, s => Assert.Equal(5, CountOf(s.Stdout + s.Stderr, "Received Store Response (Success)")));
        Assert.Equal(20, scp.ReceivedFiles().Length);
        Assert.Empty(scp.TemporaryFiles());
    }

    [Fact]
    public async Task Store_FreeDiskUnderFloor_RefusedOutOfResourcesAndNothingKept()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.FreeDiskFloorBytes = long.MaxValue);

        var store = await scp.StoreAsync([Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm")], ["-xw"]);

        Assert.Contains("Received Store Response (Refused: OutOfResources)", store.Stdout + store.Stderr, StringComparison.Ordinal);
        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
        Assert.Empty(scp.ReceivedFiles());
        Assert.Empty(scp.TemporaryFiles());
        Assert.True(scp.Log.Contains("status A700"));
    }

    /// <summary>
    /// storescu proposes only uncompressed syntaxes unless told, and cannot transcode JPEG 2000: each file is proposed in
    /// its own syntax, as a console would send it (-xi for the bare implicit data set, so nothing is transcoded).
    /// </summary>
    internal static string ProposalFor(string path) => DataSet(path).TransferSyntax switch
    {
        DicomUids.ImplicitVrLittleEndian => "-xi",
        DicomUids.ExplicitVrLittleEndian => "-xe",
        DicomUids.Jpeg2000Lossless => "-xv",
        DicomUids.Jpeg2000 => "-xw",
        DicomUids.JpegLosslessFirstOrder => "-xs",
        DicomUids.RleLossless => "-xr",
        var other => throw new InvalidOperationException($"No storescu proposal option for {other}."),
    };

    internal static (string TransferSyntax, byte[] Bytes) DataSet(string path)
    {
        using var file = File.OpenRead(path);
        try
        {
            var meta = Part10.ReadFileMetaInformation(file);
            using var rest = new MemoryStream();
            file.CopyTo(rest);
            return (meta.TransferSyntaxUid, rest.ToArray());
        }
        catch (DicomNetworkException)
        {
            // No meta header: a bare Implicit VR Little Endian data set.
            return (DicomUids.ImplicitVrLittleEndian, File.ReadAllBytes(path));
        }
    }

    private static async Task<string> DcmdumpAsync(string path)
    {
        var dump = await ChildProcess.RunAsync("dcmdump", ["-q", path], TimeSpan.FromSeconds(60));
        Assert.True(dump.ExitCode == 0, dump.Stderr);
        return dump.Stdout;
    }

    private static string Line(string dump, string tag) =>
        dump.Split('\n').First(l => l.StartsWith(tag, StringComparison.Ordinal)).TrimEnd();

    private static int CountOf(string text, string what) => text.Split(what).Length - 1;
}
