using Edge.Domain;
using Edge.Imaging;

namespace Edge.Hardware;

/// <summary>
/// The slip's heatmap thumbnail: the radiograph on the left and, on the right, the same image faded with the heatmap
/// darkened onto it. Side by side rather than overlaid, because a colour overlay turns to noise on one-bit thermal paper.
/// </summary>
public static class SlipThumbnail
{
    /// <summary>Each panel fits this square; two of them and the gap stay inside the 384-dot paper width.</summary>
    public const int PanelSide = 176;

    private const int Gap = 16;

    /// <summary>Heat below this fraction of the maximum is left out, as on the overlay, so quiet regions stay plain.</summary>
    private const float Floor = HeatmapOverlay.DefaultThreshold;

    public static SlipBlock.Picture Render(Gray8Image display, ReadOnlySpan<float> heatmap, int heatmapWidth, int heatmapHeight)
    {
        ArgumentNullException.ThrowIfNull(display);
        if (heatmapWidth <= 0 || heatmapHeight <= 0 || heatmap.Length != heatmapWidth * heatmapHeight)
        {
            throw new ArgumentException($"Expected {heatmapWidth} x {heatmapHeight} heatmap values, got {heatmap.Length}.", nameof(heatmap));
        }

        var scale = Math.Min((double)PanelSide / display.Width, (double)PanelSide / display.Height);
        var pw = Math.Max(1, (int)Math.Round(display.Width * scale));
        var ph = Math.Max(1, (int)Math.Round(display.Height * scale));
        var source = new float[display.Pixels.Length];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = display.Pixels[i];
        }

        var small = AreaResize.Resize(source, display.Width, display.Height, pw, ph);
        var max = 0f;
        foreach (var v in heatmap)
        {
            max = float.IsFinite(v) && v > max ? v : max;
        }

        var width = (2 * pw) + Gap;
        var gray = new byte[width * ph];
        Array.Fill(gray, (byte)255);
        for (var y = 0; y < ph; y++)
        {
            for (var x = 0; x < pw; x++)
            {
                var pixel = Math.Clamp(small[(y * pw) + x], 0, 255);
                gray[(y * width) + x] = (byte)Math.Round(pixel);

                // Faded to a light background so the dark heat reads on top of the anatomy.
                var faded = 255 - ((255 - pixel) * 0.3);
                var heat = max > 0 ? Sample(heatmap, heatmapWidth, heatmapHeight, (x + 0.5) / pw, (y + 0.5) / ph) / max : 0;
                heat = heat < Floor ? 0 : heat;
                gray[(y * width) + pw + Gap + x] = (byte)Math.Round(Math.Clamp(faded * (1 - heat), 0, 255));
            }
        }

        // A frame round each panel, so a pale image still reads as a picture on white paper.
        foreach (var left in new[] { 0, pw + Gap })
        {
            for (var x = 0; x < pw; x++)
            {
                gray[left + x] = 0;
                gray[((ph - 1) * width) + left + x] = 0;
            }

            for (var y = 0; y < ph; y++)
            {
                gray[(y * width) + left] = 0;
                gray[(y * width) + left + pw - 1] = 0;
            }
        }

        return new SlipBlock.Picture(width, ph, gray);
    }

    /// <summary>Bilinear sample at (u, v) in 0..1 of the heatmap grid, cell centres at (i + 0.5) / n; negative and NaN count as zero.</summary>
    private static double Sample(ReadOnlySpan<float> heatmap, int width, int height, double u, double v)
    {
        var fx = Math.Clamp((u * width) - 0.5, 0, width - 1);
        var fy = Math.Clamp((v * height) - 0.5, 0, height - 1);
        var (x0, y0) = ((int)fx, (int)fy);
        var (x1, y1) = (Math.Min(x0 + 1, width - 1), Math.Min(y0 + 1, height - 1));
        var (tx, ty) = (fx - x0, fy - y0);
        var top = (At(heatmap, width, x0, y0) * (1 - tx)) + (At(heatmap, width, x1, y0) * tx);
        var bottom = (At(heatmap, width, x0, y1) * (1 - tx)) + (At(heatmap, width, x1, y1) * tx);
        return (top * (1 - ty)) + (bottom * ty);
    }

    private static double At(ReadOnlySpan<float> heatmap, int width, int x, int y) => heatmap[(y * width) + x] is var h && float.IsFinite(h) && h > 0 ? h : 0;
}
