using Edge.Domain;

namespace Edge.Imaging.Tests;

public class DisplayImageTests
{
    private static DecodedImage Image(int width, int height, float[] pixels, ImageHeader? header = null) =>
        new(new GrayImage(width, height, pixels), header ?? new ImageHeader { Format = ImageFormat.Dicom }, PatientIdentity.None);

    // DICOM linear VOI with c=100, w=51: x <= 74.5 -> 0, x > 124.5 -> 255, else ((x - 99.5) / 50 + 0.5) * 255.
    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(74.5f, 0f)]
    [InlineData(99.5f, 127.5f)]
    [InlineData(124.5f, 255f)]
    [InlineData(110f, 181.05f)]
    [InlineData(1000f, 255f)]
    public void ApplyWindow_DicomLinearFunction_MapsLikeStandard(float value, float expected)
    {
        Assert.Equal(expected, DisplayImage.ApplyWindow(value, new VoiWindow(100, 51)), 2);
    }

    [Fact]
    public void Render_HeaderWindow_UsesHeaderNotPercentiles()
    {
        var header = new ImageHeader { Format = ImageFormat.Dicom, WindowCenter = 100, WindowWidth = 51 };

        var display = DisplayImage.Render(Image(4, 1, [0, 99.5f, 124.5f, 5000], header));

        Assert.Equal([0, 128, 255, 255], display.Pixels);
    }

    [Fact]
    public void Render_HeaderWindowOutsidePixelRange_FallsBackToPercentiles()
    {
        // Like JPEG2KLossless_1s_1f_u_16_16.dcm: WC 2725 / WW 5310 while the pixels lie in 32744..65535.
        var header = new ImageHeader { Format = ImageFormat.Dicom, WindowCenter = 2725, WindowWidth = 5310 };

        var display = DisplayImage.Render(Image(3, 1, [32744, 40000, 65535], header));

        Assert.Equal([0, 255], new[] { display.Pixels[0], display.Pixels[2] });
    }

    // Presentation LUT Shape, when present, decides alone (it already accounts for MONOCHROME1); absent, MONOCHROME1 inverts.
    [Theory]
    [InlineData("MONOCHROME1", null, true)]
    [InlineData("MONOCHROME2", null, false)]
    [InlineData("MONOCHROME1", "INVERSE", true)]
    [InlineData("MONOCHROME2", "INVERSE", true)]
    [InlineData("MONOCHROME1", "IDENTITY", false)]
    [InlineData("MONOCHROME2", "IDENTITY", false)]
    public void Render_Monochrome1OrInverse_InvertsDisplay(string photometric, string? presentationLutShape, bool inverted)
    {
        var header = new ImageHeader { Format = ImageFormat.Dicom, Photometric = photometric, PresentationLutShape = presentationLutShape, WindowCenter = 128, WindowWidth = 256 };

        var display = DisplayImage.Render(Image(2, 1, [0, 255], header));

        Assert.Equal(inverted ? [255, 0] : new byte[] { 0, 255 }, display.Pixels);
    }

    [Fact]
    public void Render_NoHeaderWindow_StretchesPercentilesAndClipsOutliers()
    {
        // 1000 pixels 0..999 plus two extreme outliers: the 0.5% / 99.5% window ignores the outliers.
        var pixels = Enumerable.Range(0, 1000).Select(v => (float)v).Concat([-50000f, 90000f]).ToArray();

        var display = DisplayImage.Render(Image(pixels.Length, 1, pixels));

        Assert.Equal(0, display.Pixels[0]);
        Assert.Equal(128, display.Pixels[500]);
        Assert.Equal(255, display.Pixels[999]);
        Assert.Equal(0, display.Pixels[1000]);
        Assert.Equal(255, display.Pixels[1001]);
    }

    [Fact]
    public void PercentileWindow_IntegerData_PutsPercentilesOnWindowEdges()
    {
        var values = Enumerable.Range(0, 1000).Select(v => (float)v).ToArray();

        var window = DisplayImage.PercentileWindow(values);

        Assert.Equal(0f, DisplayImage.ApplyWindow(4, window));
        Assert.Equal(255f, DisplayImage.ApplyWindow(994, window));
        Assert.InRange(DisplayImage.ApplyWindow(500, window), 127f, 129f);
    }

    [Fact]
    public void Render_ConstantImage_DoesNotThrow()
    {
        var display = DisplayImage.Render(Image(3, 3, new float[9]));

        Assert.All(display.Pixels, p => Assert.Equal(0, p));
    }

    [Fact]
    public void Render_WidthBelowOne_FallsBackToPercentiles()
    {
        var header = new ImageHeader { Format = ImageFormat.Dicom, WindowCenter = 5, WindowWidth = 0.5 };

        var display = DisplayImage.Render(Image(2, 1, [10, 20], header));

        Assert.Equal([0, 255], display.Pixels);
    }

    [Fact]
    public void Render_MaxSide_AreaAveragesDown()
    {
        // 4x2 image of 2x2 blocks 0 and 255 shrunk to 2x1: each output is the mean of one block.
        var header = new ImageHeader { Format = ImageFormat.Png, WindowCenter = 128, WindowWidth = 256 };
        var display = DisplayImage.Render(Image(4, 2, [0, 0, 255, 255, 0, 0, 255, 255], header), maxSide: 2);

        Assert.Equal((2, 1), (display.Width, display.Height));
        Assert.Equal([0, 255], display.Pixels);
    }

    [Fact]
    public void Render_NonIntegerShrink_KeepsMeanBrightness()
    {
        var header = new ImageHeader { Format = ImageFormat.Png, WindowCenter = 128, WindowWidth = 256 };
        var pixels = Enumerable.Range(0, 10 * 10).Select(i => (float)(i % 2 == 0 ? 0 : 255)).ToArray();

        var display = DisplayImage.Render(Image(10, 10, pixels, header), maxSide: 3);

        // Columns alternate 0/255; area averaging keeps the mean even though each output cell covers 3.33 columns.
        Assert.Equal((3, 3), (display.Width, display.Height));
        Assert.InRange(display.Pixels.Average(p => p), 127, 128.5);
        Assert.Equal([102, 128, 153], display.Pixels[..3]);
    }

    [Fact]
    public void Render_SmallerThanMaxSide_KeepsSize()
    {
        var display = DisplayImage.Render(Image(5, 3, new float[15]), maxSide: 512);

        Assert.Equal((5, 3), (display.Width, display.Height));
    }
}
