using System.Text;
using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Storage.Tests;

public sealed class SpoolTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-spool");

    [Fact]
    public async Task AdmitCopy_ThenWaiting_FindsTheImageWithItsOriginalName()
    {
        var spool = new Spool(_temp.Path);

        var image = await spool.AdmitCopyAsync(new MemoryStream(Encoding.ASCII.GetBytes("pixels")), "chest 1.dcm", IntakeSource.File, DateTimeOffset.UnixEpoch, CancellationToken.None);

        var waiting = Assert.Single(spool.Waiting());
        Assert.Equal((image.Id, "chest_1.dcm"), (waiting.Id, waiting.OriginalName));
        Assert.Equal("pixels", File.ReadAllText(waiting.SpoolPath));
    }

    [Fact]
    public void Waiting_AfterCrashMidWrite_DropsTheTemporaryFileOnly()
    {
        var spool = new Spool(_temp.Path);
        File.WriteAllText(Path.Combine(spool.SpoolDirectory, ".tmp-half-written"), "x");
        var kept = spool.AdmitMove(WriteFile("whole.png"), IntakeSource.WatchFolder, DateTimeOffset.UnixEpoch);

        var waiting = spool.Waiting();

        Assert.Equal([kept.Id], waiting.Select(w => w.Id));
        Assert.False(File.Exists(Path.Combine(spool.SpoolDirectory, ".tmp-half-written")));
    }

    [Fact]
    public void AdmitMove_TakesTheFileAwayFromTheWatchedFolder()
    {
        var spool = new Spool(_temp.Combine("data"));
        var source = WriteFile("usb.dcm");

        var image = spool.AdmitMove(source, IntakeSource.WatchFolder, DateTimeOffset.UnixEpoch);

        Assert.False(File.Exists(source));
        Assert.True(File.Exists(image.SpoolPath));
    }

    [Fact]
    public void Archive_MovesOutOfTheQueue()
    {
        var spool = new Spool(_temp.Path);
        var image = spool.AdmitMove(WriteFile("a.png"), IntakeSource.WatchFolder, DateTimeOffset.UnixEpoch);

        spool.Archive(image);

        Assert.Empty(spool.Waiting());
        Assert.True(File.Exists(spool.ArchivePathOf(image)));
    }

    [Fact]
    public void AdmitMove_SpoolGone_ReasonNamesNeitherTheFileNorItsFolder()
    {
        // Consoles and USB exports often name a file after the patient; the reason is logged.
        var spool = new Spool(_temp.Combine("data"));
        var source = WriteFile("Zwane^Thandeka 19410219.dcm");
        Directory.Delete(spool.SpoolDirectory);

        var refused = Assert.Throws<StorageException>(() => spool.AdmitMove(source, IntakeSource.WatchFolder, DateTimeOffset.UnixEpoch));

        Assert.True(File.Exists(source));
        Assert.StartsWith("Could not move an image into the spool: ", refused.Message, StringComparison.Ordinal);
        Assert.Contains("(image)", refused.Message, StringComparison.Ordinal);
        Assert.All(new[] { "Zwane", "Thandeka", "19410219", _temp.Path }, part => Assert.DoesNotContain(part, refused.Message, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AdmitCopy_SpoolGone_ReasonNamesNeitherTheFileNorItsFolder()
    {
        var spool = new Spool(_temp.Combine("data"));
        Directory.Delete(spool.SpoolDirectory);

        var refused = await Assert.ThrowsAsync<StorageException>(() => spool.AdmitCopyAsync(new MemoryStream([1, 2, 3]), "Zwane^Thandeka 19410219.dcm", IntakeSource.File, DateTimeOffset.UnixEpoch, CancellationToken.None));

        Assert.StartsWith("Could not store an image in the spool: ", refused.Message, StringComparison.Ordinal);
        Assert.All(new[] { "Zwane", "Thandeka", "19410219", _temp.Path }, part => Assert.DoesNotContain(part, refused.Message, StringComparison.OrdinalIgnoreCase));
    }

    public void Dispose() => _temp.Dispose();

    private string WriteFile(string name)
    {
        var path = _temp.Combine(name);
        File.WriteAllText(path, "image");
        return path;
    }
}
