namespace Edge.Imaging;

/// <summary>
/// Colours a display image where the model looked: the heatmap is bilinearly upsampled to the image,
/// normalised by its own maximum, coloured with a turbo-like map and alpha-blended only where it
/// exceeds <c>threshold</c> x max, so quiet regions keep the plain radiograph.
/// </summary>
public static class HeatmapOverlay
{
    public const float DefaultOpacity = 0.4f;
    public const float DefaultThreshold = 0.1f;

    /// <param name="display">The 8-bit display image.</param>
    /// <param name="heatmap">Non-negative scores, row-major, <paramref name="heatmapWidth"/> x <paramref name="heatmapHeight"/>; negative and NaN count as zero.</param>
    /// <param name="heatmapWidth">Heatmap columns.</param>
    /// <param name="heatmapHeight">Heatmap rows.</param>
    /// <param name="opacity">Weight of the colour where the heatmap is coloured (0..1).</param>
    /// <param name="threshold">Fraction of the heatmap maximum below which nothing is coloured (0..1).</param>
    public static RgbImage Render(Gray8Image display, ReadOnlySpan<float> heatmap, int heatmapWidth, int heatmapHeight, float opacity = DefaultOpacity, float threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(display);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heatmapWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heatmapHeight);
        if (heatmap.Length != heatmapWidth * heatmapHeight)
        {
            throw new ArgumentException($"Expected {heatmapWidth * heatmapHeight} heatmap values, got {heatmap.Length}.", nameof(heatmap));
        }

        if (!(opacity is >= 0f and <= 1f) || !(threshold is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(opacity), "Opacity and threshold must lie in 0..1.");
        }

        var rgb = new byte[display.Pixels.Length * 3];
        for (var i = 0; i < display.Pixels.Length; i++)
        {
            rgb[i * 3] = rgb[(i * 3) + 1] = rgb[(i * 3) + 2] = display.Pixels[i];
        }

        var max = 0f;
        foreach (var v in heatmap)
        {
            max = v > max ? v : max;
        }

        if (max > 0f && float.IsFinite(max))
        {
            var scores = heatmap.ToArray();
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] = scores[i] > 0f ? scores[i] / max : 0f;
            }

            Blend(rgb, display.Width, display.Height, scores, heatmapWidth, heatmapHeight, opacity, threshold);
        }

        return new RgbImage(display.Width, display.Height, rgb);
    }

    private static void Blend(byte[] rgb, int width, int height, float[] scores, int heatmapWidth, int heatmapHeight, float opacity, float threshold)
    {
        for (var y = 0; y < height; y++)
        {
            var (y0, y1, fy) = SourceCoordinate(y, height, heatmapHeight);
            for (var x = 0; x < width; x++)
            {
                var (x0, x1, fx) = SourceCoordinate(x, width, heatmapWidth);
                var top = Lerp(scores[(y0 * heatmapWidth) + x0], scores[(y0 * heatmapWidth) + x1], fx);
                var bottom = Lerp(scores[(y1 * heatmapWidth) + x0], scores[(y1 * heatmapWidth) + x1], fx);
                var score = Lerp(top, bottom, fy);
                if (score <= threshold)
                {
                    continue;
                }

                var (r, g, b) = Turbo(score);
                var i = ((y * width) + x) * 3;
                rgb[i] = Mix(rgb[i], r, opacity);
                rgb[i + 1] = Mix(rgb[i + 1], g, opacity);
                rgb[i + 2] = Mix(rgb[i + 2], b, opacity);
            }
        }
    }

    /// <summary>Pixel-centre mapping (align corners off), clamped at the borders.</summary>
    private static (int Low, int High, float Fraction) SourceCoordinate(int target, int targetLength, int sourceLength)
    {
        var s = Math.Clamp((((target + 0.5f) * sourceLength) / targetLength) - 0.5f, 0f, sourceLength - 1);
        var low = (int)s;
        return (low, Math.Min(low + 1, sourceLength - 1), s - low);
    }

    private static float Lerp(float a, float b, float t) => a + ((b - a) * t);

    private static byte Mix(byte gray, float colour, float alpha) => (byte)Math.Clamp(MathF.Round((gray * (1 - alpha)) + (colour * alpha)), 0f, 255f);

    /// <summary>Polynomial fit of Google's Turbo colour map (Mikhailov 2019): blue, cyan, green, yellow, red, perceptually smooth.</summary>
    internal static (float R, float G, float B) Turbo(float t)
    {
        t = Math.Clamp(t, 0f, 1f);
        var t2 = t * t;
        var t3 = t2 * t;
        var t4 = t3 * t;
        var t5 = t4 * t;
        var r = 0.13572138f + (4.61539260f * t) - (42.66032258f * t2) + (132.13108234f * t3) - (152.94239396f * t4) + (59.28637943f * t5);
        var g = 0.09140261f + (2.19418839f * t) + (4.84296658f * t2) - (14.18503333f * t3) + (4.27729857f * t4) + (2.82956604f * t5);
        var b = 0.10667330f + (12.64194608f * t) - (60.58204836f * t2) + (110.36276771f * t3) - (89.90310912f * t4) + (27.34824973f * t5);
        return (Math.Clamp(r, 0f, 1f) * 255f, Math.Clamp(g, 0f, 1f) * 255f, Math.Clamp(b, 0f, 1f) * 255f);
    }
}
