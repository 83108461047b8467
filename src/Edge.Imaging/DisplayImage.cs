using Edge.Domain;

namespace Edge.Imaging;

/// <summary>A VOI window in the image's own units (DICOM Window Center / Window Width).</summary>
public readonly record struct VoiWindow(double Center, double Width);

/// <summary>
/// Turns decoded pixels into an 8-bit gray picture for people: VOI window (the header's, else a
/// 0.5%..99.5% percentile window), inversion for MONOCHROME1 / INVERSE, then an optional area-average downscale.
/// </summary>
public static class DisplayImage
{
    public const double LowPercentile = 0.005;
    public const double HighPercentile = 0.995;

    /// <param name="image">The decoded image.</param>
    /// <param name="maxSide">Longest side of the result; larger images are shrunk to fit, smaller ones are left as they are.</param>
    public static Gray8Image Render(DecodedImage image, int maxSide = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);

        var pixels = image.Pixels;
        var window = SelectWindow(pixels, image.Header);
        var display = new float[pixels.Pixels.Length];
        for (var i = 0; i < display.Length; i++)
        {
            display[i] = ApplyWindow(pixels.Pixels[i], window);
        }

        if (image.Header.DisplaysInverted)
        {
            for (var i = 0; i < display.Length; i++)
            {
                display[i] = 255f - display[i];
            }
        }

        var (width, height) = FitWithin(pixels.Width, pixels.Height, maxSide);
        if (width != pixels.Width || height != pixels.Height)
        {
            display = AreaResize(display, pixels.Width, pixels.Height, width, height);
        }

        var bytes = new byte[display.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)Math.Clamp(MathF.Round(display[i]), 0f, 255f);
        }

        return new Gray8Image(width, height, bytes);
    }

    /// <summary>
    /// The header's window when it has a usable one, otherwise the percentile window of the pixels.
    /// A header window that misses the pixel range entirely (seen in the wild: WC 2725 / WW 5310 over
    /// values 32744..65535) would paint a blank picture, so it is treated as absent.
    /// </summary>
    public static VoiWindow SelectWindow(GrayImage pixels, ImageHeader header)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(header);
        if (header.WindowCenter is { } center && header.WindowWidth is { } width && width >= 1 && double.IsFinite(center))
        {
            var window = new VoiWindow(center, width);
            var (min, max) = Range(pixels.Pixels);
            if (max > center - 0.5 - ((width - 1) / 2) && min <= center - 0.5 + ((width - 1) / 2))
            {
                return window;
            }
        }

        return PercentileWindow(pixels.Pixels);
    }

    private static (float Min, float Max) Range(ReadOnlySpan<float> values)
    {
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in values)
        {
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }

        return (min, max);
    }

    /// <summary>
    /// DICOM PS3.3 C.11.2.1.2.1 linear VOI function mapped to 0..255:
    /// x at or below c - 0.5 - (w-1)/2 is black, above c - 0.5 + (w-1)/2 is white.
    /// </summary>
    public static float ApplyWindow(float value, VoiWindow window)
    {
        var low = window.Center - 0.5 - ((window.Width - 1) / 2);
        var high = window.Center - 0.5 + ((window.Width - 1) / 2);
        if (value <= low)
        {
            return 0f;
        }

        if (value > high)
        {
            return 255f;
        }

        return (float)((((value - (window.Center - 0.5)) / (window.Width - 1)) + 0.5) * 255);
    }

    /// <summary>A window that maps the 0.5th percentile to black and the 99.5th to white.</summary>
    public static VoiWindow PercentileWindow(ReadOnlySpan<float> values)
    {
        var (low, high) = Percentiles(values, LowPercentile, HighPercentile);

        // Width hi-lo+1 and this centre put lo exactly on the black edge and hi on the white edge of ApplyWindow.
        return new VoiWindow(((low + high) / 2) + 0.5, high - low + 1);
    }

    /// <summary>Percentiles from a 65536-bin histogram: exact for 16-bit integer data, within range/65535 otherwise.</summary>
    internal static (double Low, double High) Percentiles(ReadOnlySpan<float> values, double lowFraction, double highFraction)
    {
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (float.IsFinite(v))
            {
                min = MathF.Min(min, v);
                max = MathF.Max(max, v);
            }
        }

        if (!(max > min))
        {
            var only = float.IsFinite(min) ? min : 0;
            return (only, only);
        }

        const int bins = 65536;
        var range = (double)max - min;
        var scale = range <= bins - 1 ? 1.0 : (bins - 1) / range;
        var histogram = new long[bins];
        long count = 0;
        foreach (var v in values)
        {
            if (float.IsFinite(v))
            {
                histogram[(int)((v - min) * scale)]++;
                count++;
            }
        }

        return (min + (Quantile(histogram, count, lowFraction) / scale), min + (Quantile(histogram, count, highFraction) / scale));
    }

    private static int Quantile(long[] histogram, long count, double fraction)
    {
        var target = (long)Math.Ceiling(fraction * count);
        long seen = 0;
        for (var bin = 0; bin < histogram.Length; bin++)
        {
            seen += histogram[bin];
            if (seen >= Math.Max(1, target))
            {
                return bin;
            }
        }

        return histogram.Length - 1;
    }

    internal static (int Width, int Height) FitWithin(int width, int height, int maxSide)
    {
        var longest = Math.Max(width, height);
        if (longest <= maxSide)
        {
            return (width, height);
        }

        var factor = (double)maxSide / longest;
        return (Math.Clamp((int)Math.Round(width * factor), 1, maxSide), Math.Clamp((int)Math.Round(height * factor), 1, maxSide));
    }

    /// <summary>Box-filter shrink: each output pixel is the coverage-weighted mean of the source pixels under it.</summary>
    internal static float[] AreaResize(float[] source, int width, int height, int newWidth, int newHeight)
    {
        var horizontal = new float[newWidth * height];
        var columns = Weights(width, newWidth);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < newWidth; x++)
            {
                double sum = 0;
                foreach (var (index, weight) in columns[x])
                {
                    sum += source[(y * width) + index] * weight;
                }

                horizontal[(y * newWidth) + x] = (float)sum;
            }
        }

        var result = new float[newWidth * newHeight];
        var rows = Weights(height, newHeight);
        for (var y = 0; y < newHeight; y++)
        {
            foreach (var (index, weight) in rows[y])
            {
                for (var x = 0; x < newWidth; x++)
                {
                    result[(y * newWidth) + x] += horizontal[(index * newWidth) + x] * (float)weight;
                }
            }
        }

        return result;
    }

    /// <summary>For each output cell, the source cells it overlaps and their share of its area (shares sum to 1).</summary>
    private static (int Index, double Weight)[][] Weights(int sourceLength, int targetLength)
    {
        var ratio = (double)sourceLength / targetLength;
        var weights = new (int, double)[targetLength][];
        for (var t = 0; t < targetLength; t++)
        {
            var start = t * ratio;
            var end = Math.Min(sourceLength, (t + 1) * ratio);
            var cells = new List<(int, double)>();
            for (var s = (int)Math.Floor(start); s < end; s++)
            {
                var overlap = Math.Min(end, s + 1) - Math.Max(start, s);
                if (overlap > 0)
                {
                    cells.Add((s, overlap / (end - start)));
                }
            }

            weights[t] = [.. cells];
        }

        return weights;
    }
}
