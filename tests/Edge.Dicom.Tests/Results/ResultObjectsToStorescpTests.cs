using Edge.Dicom.Network;
using Edge.Dicom.Results;
using Edge.Dicom.Tests.Network;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Results;

/// <summary>The result objects as a PACS receives them: our SCU to DCMTK's storescp, then dciodvfy on what arrived.</summary>
public class ResultObjectsToStorescpTests
{
    [Fact]
    public async Task SendAsync_SrAndSc_StoredByStorescpAndStillValid()
    {
        var source = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        using var temp = new TempDirectory("edge-results");
        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);
        await using var storescp = await Storescp.StartAsync();

        foreach (var path in new[] { files.StructuredReportPath, files.SecondaryCapturePath })
        {
            var status = await new DicomStoreScu().SendAsync("127.0.0.1", storescp.Port, "EDGE", Storescp.AeTitle, path, CancellationToken.None);
            Assert.True(status == DimseStatus.Success, storescp.Log);
        }

        var received = Directory.GetFiles(storescp.OutputDirectory);
        Assert.Equal(2, received.Length);
        Assert.Contains(received, f => Path.GetFileName(f).StartsWith("SRc", StringComparison.Ordinal));
        Assert.Contains(received, f => Path.GetFileName(f).StartsWith("SC", StringComparison.Ordinal));
        foreach (var path in received)
        {
            var (errors, _) = await ResultObjects.ValidateAsync(path);
            Assert.True(errors.Count == 0, string.Join('\n', errors));
        }
    }
}
