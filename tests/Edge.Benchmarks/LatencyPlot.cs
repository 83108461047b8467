using System.Globalization;
using Edge.Imaging;

namespace Edge.Benchmarks;

/// <summary>
/// A latency CDF drawn with the product's own PNG encoder and bitmap font, so a benchmark report needs no plotting
/// package: x is milliseconds (0 to the largest sample), y the fraction of images at or below it.
/// </summary>
public static class LatencyPlot
{
    private const int Width = 720;
    private const int Height = 440;
    private const int Left = 70;
    private const int Right = 20;
    private const int Top = 40;
    private const int Bottom = 50;

    public static byte[] Cdf(IReadOnlyList<IReadOnlyList<double>> series, IReadOnlyList<string> names)
    {
        var image = new Gray8Image(Width, Height, Enumerable.Repeat((byte)255, Width * Height).ToArray());
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        var max = NiceCeiling(series.SelectMany(s => s).DefaultIfEmpty(1).Max());

        // Axes, grid every 10 % and every fifth of the x range.
        for (var i = 0; i <= 10; i++)
        {
            var y = Top + plotHeight - (i * plotHeight / 10);
            BitmapFont.Fill(image, Left, y, plotWidth, 1, i == 0 ? (byte)0 : (byte)225);
            BitmapFont.Draw(image, (i * 10).ToString(CultureInfo.InvariantCulture) + "%", 8, y - 7, 2, 0);
        }

        for (var i = 0; i <= 5; i++)
        {
            var x = Left + (i * plotWidth / 5);
            BitmapFont.Fill(image, x, Top, 1, plotHeight, i == 0 ? (byte)0 : (byte)225);
            BitmapFont.Draw(image, (max * i / 5).ToString("0", CultureInfo.InvariantCulture), i == 5 ? x - 40 : x - 10, Top + plotHeight + 8, 2, 0);
        }

        BitmapFont.Draw(image, "MS FROM C-STORE RESPONSE TO RESULT AT THE BROKER", Left, Height - 20, 2, 0);
        for (var s = 0; s < series.Count; s++)
        {
            var shade = (byte)(s * 150 / Math.Max(1, series.Count - 1));
            var sorted = series[s].Order().ToList();
            for (var i = 0; i < sorted.Count; i++)
            {
                // A step: each sample raises the curve by 1/n at its latency.
                var x = Left + (int)Math.Round(sorted[i] / max * plotWidth);
                var yFrom = Top + plotHeight - (int)Math.Round(i * (double)plotHeight / sorted.Count);
                var yTo = Top + plotHeight - (int)Math.Round((i + 1) * (double)plotHeight / sorted.Count);
                BitmapFont.Fill(image, x - 1, yTo, 3, yFrom - yTo + 1, shade);
                var next = i + 1 < sorted.Count ? Left + (int)Math.Round(sorted[i + 1] / max * plotWidth) : x;
                BitmapFont.Fill(image, x, yTo - 1, next - x + 1, 3, shade);
            }

            BitmapFont.Fill(image, Left + 10 + (s * 200), 12, 24, 8, shade);
            BitmapFont.Draw(image, names[s].ToUpperInvariant(), Left + 40 + (s * 200), 10, 2, 0);
        }

        return PngEncoder.Encode(image);
    }

    /// <summary>1, 2 or 5 times a power of ten, at or above the value, so the axis ticks are round.</summary>
    private static double NiceCeiling(double value)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(value, 1))));
        return new[] { 1, 2, 5, 10 }.Select(m => m * power).First(c => c >= value);
    }
}
