namespace Edge.Imaging;

/// <summary>8-bit pixels, row-major from the top-left, channels interleaved.</summary>
public abstract class Raster
{
    protected Raster(int width, int height, int channels, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != checked(width * height * channels))
        {
            throw new ArgumentException($"Expected {width * height * channels} bytes for {width} x {height} x {channels}, got {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public byte[] Pixels { get; }
}

/// <summary>8-bit grayscale pixels for people (display images, slips).</summary>
public sealed class Gray8Image(int width, int height, byte[] pixels) : Raster(width, height, 1, pixels);

/// <summary>8-bit RGB pixels, interleaved R, G, B.</summary>
public sealed class RgbImage(int width, int height, byte[] pixels) : Raster(width, height, 3, pixels);

/// <summary>Limits and colour maths shared by the decoders.</summary>
public static class ImageLimits
{
    /// <summary>Largest accepted image: far above any radiograph, low enough that a corrupt header cannot exhaust memory.</summary>
    public const long MaxPixels = 100_000_000;

    public static void ThrowIfTooLarge(string format, long width, long height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new Domain.ImageReadException($"{format} has invalid dimensions {width} x {height}.");
        }

        if (width * height > MaxPixels)
        {
            throw new Domain.ImageReadException($"{format} is too large ({width} x {height} pixels).");
        }
    }

    /// <summary>ITU-R BT.601 luma, the weights the whole pipeline uses for colour to gray.</summary>
    public static float Luma(float r, float g, float b) => (0.299f * r) + (0.587f * g) + (0.114f * b);
}
