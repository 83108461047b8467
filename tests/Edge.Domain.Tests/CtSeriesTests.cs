using Edge.Domain;

namespace Edge.Domain.Tests;

/// <summary>Series assembly by quiet period, on a clock the test moves by hand.</summary>
public sealed class CtSeriesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(30);

    [Fact]
    public void TakeDue_SlicesKeepArriving_NothingDueUntilTheSeriesHasBeenQuietForThePeriod()
    {
        var assembly = new CtSeriesAssembly();
        for (var i = 0; i < 5; i++)
        {
            assembly.Add("1.2.3", Image(i), T0.AddSeconds(i * 20)); // 20 s apart: each slice restarts the quiet period
        }

        Assert.Empty(assembly.TakeDue(T0.AddSeconds(80 + 29), Quiet));
        Assert.Equal(5, assembly.PendingImages);
        Assert.Equal(T0.AddSeconds(80) + Quiet, assembly.NextDue(Quiet));

        var series = Assert.Single(assembly.TakeDue(T0.AddSeconds(80 + 30), Quiet));

        Assert.Equal("1.2.3", series.SeriesInstanceUid);
        Assert.Equal([.. Enumerable.Range(0, 5).Select(i => Image(i).Id)], series.Images.Select(i => i.Id));
        Assert.Equal(0, assembly.PendingImages);
        Assert.Null(assembly.NextDue(Quiet));
        Assert.Empty(assembly.TakeDue(T0.AddHours(1), Quiet));
    }

    [Fact]
    public void TakeDue_TwoSeriesInterleaved_EachAssembledApartWhenItsOwnPeriodEnds()
    {
        var assembly = new CtSeriesAssembly();
        assembly.Add("A", Image(1), T0);
        assembly.Add("B", Image(2), T0.AddSeconds(1));
        assembly.Add("A", Image(3), T0.AddSeconds(2));
        assembly.Add("B", Image(4), T0.AddSeconds(20));

        var first = Assert.Single(assembly.TakeDue(T0.AddSeconds(32), Quiet));
        Assert.Equal(("A", 2), (first.SeriesInstanceUid, first.Images.Count));
        var second = Assert.Single(assembly.TakeDue(T0.AddSeconds(50), Quiet));
        Assert.Equal(("B", 2), (second.SeriesInstanceUid, second.Images.Count));
    }

    [Fact]
    public void Add_SameImageTwice_CountsOnce()
    {
        var assembly = new CtSeriesAssembly();
        assembly.Add("A", Image(1), T0);
        assembly.Add("A", Image(1), T0.AddSeconds(5));

        Assert.Single(Assert.Single(assembly.TakeDue(T0.AddMinutes(1), Quiet)).Images);
    }

    [Theory]
    [InlineData("CT", "ORIGINAL\\PRIMARY\\AXIAL", true)]
    [InlineData("ct", "", true)]
    [InlineData("CT", "ORIGINAL\\PRIMARY\\LOCALIZER", false)]
    [InlineData("DX", "ORIGINAL\\PRIMARY", false)]
    [InlineData(null, "", false)]
    public void IsSlice_ModalityAndImageType_OnlyCtThatIsNotAScout(string? modality, string imageType, bool slice)
    {
        var header = new ImageHeader { Format = ImageFormat.Dicom, Modality = modality, ImageType = imageType.Split('\\', StringSplitOptions.RemoveEmptyEntries) };

        Assert.Equal(slice, CtSeries.IsSlice(header));
    }

    [Fact]
    public void NoModelFinding_Series_RejectsNamingTheImageCountAndTheMissingModel()
    {
        var finding = new CtSeries("A", [Image(1), Image(2), Image(3)]).NoModelFinding();

        Assert.Equal(("ct-no-model", QcVerdict.Reject), (finding.Code, finding.Severity));
        Assert.Equal("CT series of 3 images: not screened: no CT model installed.", finding.Message);
    }

    private static ReceivedImage Image(int n) => new(n.ToString("D32", System.Globalization.CultureInfo.InvariantCulture), "spool/" + n, n + ".dcm", IntakeSource.DicomStore, T0);
}
