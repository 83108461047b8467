using Edge.Dicom.Results;
using Edge.Domain;
using Edge.Imaging;
using Edge.Storage;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Appliance.Tests;

public sealed class PicturesStageTests
{
    [Fact]
    public async Task RunAsync_RecordedWithHeatmap_WritesOverlayMakesSlipPictureAndDropsPixels()
    {
        using var temp = new TempDirectory();
        using var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var outputs = new ResultOutputs(temp.Combine("out"));
        var stage = new PicturesStage(outputs, DicomOutput(temp, store), parallelism: 2);

        var done = await stage.RunAsync(Recorded(heatmap: true), CancellationToken.None);

        Assert.Null(done.Image);
        Assert.NotNull(done.SlipPicture);
        Assert.Equal(outputs.HeatmapPathOf("r1"), done.HeatmapPath);
        var overlay = PngDecoder.Decode(await File.ReadAllBytesAsync(done.HeatmapPath!));
        Assert.Equal((96, 128), (overlay.Pixels.Width, overlay.Pixels.Height));
    }

    [Fact]
    public async Task RunAsync_RecordedWithoutHeatmap_DropsPixelsWritesNothing()
    {
        using var temp = new TempDirectory();
        using var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var outputs = new ResultOutputs(temp.Combine("out"));
        var stage = new PicturesStage(outputs, DicomOutput(temp, store), parallelism: 1);

        var done = await stage.RunAsync(Recorded(heatmap: false), CancellationToken.None);

        Assert.Null(done.Image);
        Assert.Null(done.SlipPicture);
        Assert.Null(done.HeatmapPath);
        Assert.Empty(Directory.GetFiles(outputs.HeatmapDirectory));
    }

    [Fact]
    public async Task RunAsync_NotRecordedHere_KeepsTheImageForItsLine()
    {
        using var temp = new TempDirectory();
        using var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var stage = new PicturesStage(new ResultOutputs(temp.Combine("out")), DicomOutput(temp, store), parallelism: 1);
        var item = Recorded(heatmap: true) with { Result = null };

        var done = await stage.RunAsync(item, CancellationToken.None);

        Assert.Same(item, done);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(6, 4)]
    public void ParallelismFor_Cores_OnePerCoreAtMostFour(int cores, int expected)
    {
        Assert.Equal(expected, PicturesStage.ParallelismFor(cores));
    }

    private static DicomResultOutput DicomOutput(TempDirectory temp, ScreeningStore store) =>
        new(new DicomResultWriter(new DicomResultOptions { SiteId = "site", DeviceId = "dev" }), new Spool(temp.Combine("data")), store, temp.Combine("out", "dicom"), [], NullLogger.Instance, TimeProvider.System);

    /// <summary>A PNG case as the record stage hands it on: its result committed, the decoded image still attached.</summary>
    private static ScreeningCase Recorded(bool heatmap)
    {
        var pixels = new float[96 * 128];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = i % 251;
        }

        var item = new ScreeningCase
        {
            Received = new ReceivedImage("r1", "r1.png", "chest.png", IntakeSource.File, DateTimeOffset.UnixEpoch),
            Image = new DecodedImage(new GrayImage(96, 128, pixels), new ImageHeader { Format = ImageFormat.Png }, PatientIdentity.None),
            Output = new ModelOutput(0.8, heatmap ? [0f, 0.5f, 1f, 0.2f] : [], heatmap ? 2 : 0, heatmap ? 2 : 0),
            Decision = new Decision(Referral.Refer, 0.5, ThresholdSource.Bundle),
            Status = ScreeningStatus.Screened,
        };
        var result = ScreeningResult.From(item, DateTimeOffset.UnixEpoch);
        return item with { Result = heatmap ? result : result with { Heatmap = null } };
    }
}
