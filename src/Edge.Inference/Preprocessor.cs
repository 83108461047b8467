using Edge.Domain;
using Edge.Imaging;

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
        var resized = AreaResize.Resize(image.Pixels.Pixels, image.Pixels.Width, image.Pixels.Height, Width, Height);
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

    /// <summary>The equalised ranks (0..1) behind a tensor this preprocessor made: what anatomy checks look at.</summary>
    public float[] Ranks(float[] tensor) => Array.ConvertAll(tensor, x => (float)((x * _spec.Normalise.Std) + _spec.Normalise.Mean));

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
}
