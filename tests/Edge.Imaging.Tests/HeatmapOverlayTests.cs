namespace Edge.Imaging.Tests;

public class HeatmapOverlayTests
{
    private static Gray8Image Gray(int width, int height, byte value) => new(width, height, Enumerable.Repeat(value, width * height).ToArray());

    [Fact]
    public void Render_AllZeroHeatmap_ReturnsPlainGray()
    {
        var overlay = HeatmapOverlay.Render(Gray(8, 6, 90), new float[4], 2, 2);

        Assert.All(overlay.Pixels, b => Assert.Equal(90, b));
    }

    [Fact]
    public void Render_HeatmapZeroInOneHalf_ColoursOnlyTheOtherHalf()
    {
        // 2x1 heatmap: left cell hot, right cell zero; 8x4 image: the right quarter stays gray.
        var overlay = HeatmapOverlay.Render(Gray(8, 4, 100), [5f, 0f], 2, 1, opacity: 0.5f, threshold: 0.2f);

        for (var y = 0; y < 4; y++)
        {
            var left = Pixel(overlay, 0, y);
            var right = Pixel(overlay, 7, y);
            Assert.NotEqual((100, 100, 100), left);
            Assert.Equal((100, 100, 100), right);
        }
    }

    [Fact]
    public void Render_MaximumScore_BlendsTurboRedWithOpacity()
    {
        var (r, g, b) = HeatmapOverlay.Turbo(1f);
        var overlay = HeatmapOverlay.Render(Gray(2, 2, 0), [1f, 1f, 1f, 1f], 2, 2, opacity: 0.5f);

        Assert.Equal(((int)Math.Round(r * 0.5f), (int)Math.Round(g * 0.5f), (int)Math.Round(b * 0.5f)), Pixel(overlay, 1, 1));
        Assert.True(r > g && r > b, "the top of the map is red");
    }

    [Fact]
    public void Render_ScaleInvariant_NormalisesByMax()
    {
        float[] heat = [0f, 1f, 2f, 4f];

        var small = HeatmapOverlay.Render(Gray(6, 6, 50), heat, 2, 2);
        var large = HeatmapOverlay.Render(Gray(6, 6, 50), heat.Select(h => h * 1000).ToArray(), 2, 2);

        Assert.Equal(small.Pixels, large.Pixels);
    }

    [Fact]
    public void Render_WrongHeatmapLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => HeatmapOverlay.Render(Gray(2, 2, 0), new float[3], 2, 2));
    }

    [Fact]
    public void Render_Colours_EncodeAsRgbPng()
    {
        var overlay = HeatmapOverlay.Render(Gray(16, 16, 128), [0f, 1f, 2f, 3f], 2, 2);

        var decoded = PngDecoder.Decode(PngEncoder.Encode(overlay));

        Assert.Equal("RGB", decoded.Header.Photometric);
        Assert.Equal((16, 16), (decoded.Pixels.Width, decoded.Pixels.Height));
    }

    private static (int R, int G, int B) Pixel(RgbImage image, int x, int y)
    {
        var i = ((y * image.Width) + x) * 3;
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }
}
