using Edge.Domain;

namespace Edge.Inference;

/// <summary>
/// Turns an image into the model's input tensor exactly as the manifest's <c>preprocessing</c> says:
/// polarity, area resize (aspect not kept), mid-rank histogram equalisation, then normalisation.
/// The equalisation depends only on the order of pixel values, so the scanner's window, bit depth and tone curve drop out.
/// Arithmetic is in double to match the reference implementation in <c>models/tb-cxr/train/preprocess.py</c>.
/// </summary>
public sealed class Preprocessor
{
    private readonly PreprocessingSpec _spec;

    public Preprocessor(PreprocessingSpec spec)
    {
        _spec = spec;
    }

    public int Width => _spec.Resize.Width;

    public int Height => _spec.Resize.Height;

    public float[] Run(DecodedImage image)
    {
        var negate = image.Header.DisplaysInverted && _spec.Monochrome1 == "negate";
        var resized = ResizeArea(image.Pixels, Width, Height);
        if (negate)
        {
            for (var i = 0; i < resized.Length; i++)
            {
                resized[i] = -resized[i];
            }
        }

        var equalised = EqualiseMidRank(resized);
        var tensor = new float[equalised.Length];
        var mean = _spec.Normalise.Mean;
        var std = _spec.Normalise.Std;
        for (var i = 0; i < tensor.Length; i++)
        {
            tensor[i] = (float)((equalised[i] - mean) / std);
        }

        return tensor;
    }

    /// <summary>
    /// Exact area averaging: output pixel k on an axis of input size n and output size m covers [k n/m, (k+1) n/m),
    /// and each input pixel contributes the length of its overlap with that interval. Separable: rows first, then columns.
    /// </summary>
    public static double[] ResizeArea(GrayImage image, int outWidth, int outHeight)
    {
        var xWeights = AxisWeights(image.Width, outWidth);
        var yWeights = AxisWeights(image.Height, outHeight);
        var pixels = image.Pixels;
        var rows = new double[image.Height * outWidth];
        for (var y = 0; y < image.Height; y++)
        {
            var rowStart = y * image.Width;
            for (var k = 0; k < outWidth; k++)
            {
                var (start, weights) = xWeights[k];
                double sum = 0;
                for (var j = 0; j < weights.Length; j++)
                {
                    sum += weights[j] * pixels[rowStart + start + j];
                }

                rows[(y * outWidth) + k] = sum;
            }
        }

        var result = new double[outWidth * outHeight];
        for (var k = 0; k < outHeight; k++)
        {
            var (start, weights) = yWeights[k];
            var outRow = k * outWidth;
            for (var j = 0; j < weights.Length; j++)
            {
                var w = weights[j];
                var inRow = (start + j) * outWidth;
                for (var x = 0; x < outWidth; x++)
                {
                    result[outRow + x] += w * rows[inRow + x];
                }
            }
        }

        return result;
    }

    /// <summary>y(v) = (count(p &lt; v) + count(p == v) / 2) / N, so ties share the middle of their ranks.</summary>
    public static double[] EqualiseMidRank(double[] values)
    {
        var n = values.Length;
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var keys = (double[])values.Clone();
        Array.Sort(keys, order);
        var result = new double[n];
        var runStart = 0;
        while (runStart < n)
        {
            var runEnd = runStart + 1;
            while (runEnd < n && keys[runEnd] == keys[runStart])
            {
                runEnd++;
            }

            var y = (runStart + (0.5 * (runEnd - runStart))) / n;
            for (var i = runStart; i < runEnd; i++)
            {
                result[order[i]] = y;
            }

            runStart = runEnd;
        }

        return result;
    }

    private static (int Start, double[] Weights)[] AxisWeights(int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var axis = new (int, double[])[outSize];
        for (var k = 0; k < outSize; k++)
        {
            var lo = k * scale;
            var hi = (k + 1) * scale;
            var first = (int)Math.Floor(lo);
            var last = Math.Min(inSize - 1, (int)Math.Ceiling(hi) - 1);
            var weights = new double[last - first + 1];
            for (var i = first; i <= last; i++)
            {
                var overlap = Math.Min(hi, i + 1) - Math.Max(lo, i);
                weights[i - first] = Math.Max(0, overlap) / scale;
            }

            axis[k] = (first, weights);
        }

        return axis;
    }
}
