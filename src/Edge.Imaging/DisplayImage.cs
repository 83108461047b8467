using Edge.Domain;

namespace Edge.Imaging;

/// <summary>A VOI window in the image's own units (DICOM Window Center / Window Width).</summary>
public readonly record struct VoiWindow(double Center, double Width);

/// <summary>
/// Turns decoded pixels into an 8-bit gray picture for people: VOI LUT, else VOI window (the header's, else a
/// 0.5%..99.5% percentile window), inversion for MONOCHROME1 / INVERSE, with an optional area-average downscale first.
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

        // Shrink first, then window: the window is linear, and working on the small picture keeps a 4k image cheap.
        var (width, height) = FitWithin(image.Pixels.Width, image.Pixels.Height, maxSide);
        var pixels = width == image.Pixels.Width && height == image.Pixels.Height
            ? image.Pixels
            : new GrayImage(width, height, Array.ConvertAll(AreaResize.Resize(image.Pixels.Pixels, image.Pixels.Width, image.Pixels.Height, width, height), v => (float)v));
        var inverted = image.Header.DisplaysInverted;
        var bytes = new byte[pixels.Pixels.Length];
        if (image.Header.VoiLut is { } lut)
        {
            // The modality's own (usually non-linear) curve is preferred over its linear window approximation, as pydicom does.
            var scale = (float)(255 / lut.MaxOutput);
            for (var i = 0; i < bytes.Length; i++)
            {
                var value = lut.Map(pixels.Pixels[i]) * scale;
                bytes[i] = (byte)Math.Clamp(MathF.Round(inverted ? 255f - value : value), 0f, 255f);
            }

            return new Gray8Image(width, height, bytes);
        }

        var window = SelectWindow(pixels, image.Header);
        for (var i = 0; i < bytes.Length; i++)
        {
            var value = ApplyWindow(pixels.Pixels[i], window);
            bytes[i] = (byte)Math.Clamp(MathF.Round(inverted ? 255f - value : value), 0f, 255f);
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
}
