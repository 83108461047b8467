namespace Edge.Imaging;

/// <summary>
/// Exact area averaging (box filter of the output pixel's footprint), aspect not kept. On an axis of input size n and output
/// size m, output k covers [k n/m, (k+1) n/m) and each input pixel contributes the length of its overlap with that interval.
/// Separable, in double. The model's preprocessing depends on this being exactly the training recipe's resize
/// (<c>models/tb-cxr/train/preprocess.py</c>), so display and model share the one implementation.
/// </summary>
public static class AreaResize
{
    public static double[] Resize(ReadOnlySpan<float> pixels, int width, int height, int outWidth, int outHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(pixels.Length, width * height);
        var xWeights = AxisWeights(width, outWidth);
        var yWeights = AxisWeights(height, outHeight);
        var rows = new double[height * outWidth];
        for (var y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * width, width);
            for (var k = 0; k < outWidth; k++)
            {
                var (start, weights) = xWeights[k];
                double sum = 0;
                for (var j = 0; j < weights.Length; j++)
                {
                    sum += weights[j] * row[start + j];
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
                weights[i - first] = Math.Max(0, Math.Min(hi, i + 1) - Math.Max(lo, i)) / scale;
            }

            axis[k] = (first, weights);
        }

        return axis;
    }
}
