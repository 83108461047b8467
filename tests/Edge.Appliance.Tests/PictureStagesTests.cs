using Edge.Dicom.Results;
using Edge.Domain;
using Edge.Imaging;
using Edge.Storage;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Appliance.Tests;

public sealed class PictureStagesTests
{
    [Fact]
    public async Task RunAsync_RecordedWithHeatmap_MakesDisplayAndSlipPictureAndDropsPixels()
    {
        var done = await new DisplayStage(parallelism: 2).RunAsync(Recorded(heatmap: true), CancellationToken.None);

        Assert.Null(done.Image);
        Assert.NotNull(done.SlipPicture);
        Assert.Equal((96, 128, 96 * 128), (done.Display!.Width, done.Display.Height, done.Display.Pixels.Length));
    }

    [Fact]
    public async Task RunAsync_RecordedWithoutHeatmap_DropsPixelsMakesNoPictures()
    {
        var done = await new DisplayStage(parallelism: 1).RunAsync(Recorded(heatmap: false), CancellationToken.None);

        Assert.Null(done.Image);
        Assert.Null(done.Display);
        Assert.Null(done.SlipPicture);
    }

    [Fact]
    public async Task RunAsync_NotRecordedHere_KeepsTheImageForItsLine()
    {
        var item = Recorded(heatmap: true) with { Result = null };

        var done = await new DisplayStage(parallelism: 1).RunAsync(item, CancellationToken.None);

        Assert.Same(item, done);
    }

    [Fact]
    public async Task RunAsync_Displayed_WritesOverlayPngAndDropsTheDisplay()
    {
        using var temp = new TempDirectory();
        using var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var outputs = new ResultOutputs(temp.Combine("out"));
        var displayed = await new DisplayStage(parallelism: 1).RunAsync(Recorded(heatmap: true), CancellationToken.None);

        var done = await new PicturesStage(outputs, DicomOutput(temp, store), parallelism: 2).RunAsync(displayed, CancellationToken.None);

        Assert.Null(done.Display);
        Assert.Equal(outputs.HeatmapPathOf("r1"), done.HeatmapPath);
        var overlay = PngDecoder.Decode(await File.ReadAllBytesAsync(done.HeatmapPath!));
        Assert.Equal((96, 128), (overlay.Pixels.Width, overlay.Pixels.Height));
    }

    [Fact]
    public async Task RunAsync_NoDisplay_WritesNothing()
    {
        using var temp = new TempDirectory();
        using var store = ScreeningStore.Open(temp.Combine("edge.db"));
        var outputs = new ResultOutputs(temp.Combine("out"));
        var item = Recorded(heatmap: true);

        var done = await new PicturesStage(outputs, DicomOutput(temp, store), parallelism: 1).RunAsync(item, CancellationToken.None);

        Assert.Same(item, done);
        Assert.Empty(Directory.GetFiles(outputs.HeatmapDirectory));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(6, 4)]
    public void ParallelismFor_Cores_OnePerCoreAtMostFour(int cores, int expected)
    {
        Assert.Equal(expected, DisplayStage.ParallelismFor(cores));
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
