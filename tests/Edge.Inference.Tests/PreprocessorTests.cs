using Edge.Domain;
using Edge.Imaging;

namespace Edge.Inference.Tests;

public sealed class PreprocessorTests
{
    private static readonly PreprocessingSpec Spec = new()
    {
        Monochrome1 = "negate",
        Resize = new ResizeSpec { Method = "area", Width = 2, Height = 2 },
        Intensity = new IntensitySpec { Method = "histogram-equalisation" },
        Normalise = new NormaliseSpec { Mean = 0.5, Std = 0.25 },
    };

    [Fact]
    public void ResizeArea_HalvingEachAxis_AveragesBlocks()
    {
        var image = new GrayImage(4, 4, [1, 3, 10, 10, 1, 3, 10, 10, 0, 0, 5, 7, 0, 0, 7, 5]);

        Assert.Equal([2, 10, 0, 6], AreaResize.Resize(image.Pixels, image.Width, image.Height, 2, 2));
    }

    [Fact]
    public void ResizeArea_ThreeToTwo_WeighsPartialPixelsByOverlap()
    {
        // Output 0 covers [0, 1.5): all of pixel 0 and half of pixel 1; output 1 covers [1.5, 3).
        var image = new GrayImage(3, 1, [0, 3, 6]);

        var resized = AreaResize.Resize(image.Pixels, image.Width, image.Height, 2, 1);

        Assert.Equal(1.0, resized[0], 12);
        Assert.Equal(5.0, resized[1], 12);
    }

    [Fact]
    public void ResizeArea_SameSize_IsIdentity()
    {
        var pixels = Enumerable.Range(0, 128 * 128).Select(i => (float)(i % 251)).ToArray();

        var resized = AreaResize.Resize(pixels, 128, 128, 128, 128);

        Assert.Equal(pixels.Select(p => (double)p), resized);
    }

    [Fact]
    public void EqualiseMidRank_Ties_ShareTheMiddleOfTheirRanks()
    {
        Assert.Equal([0.25, 0.25, 0.625, 0.875], Preprocessor.EqualiseMidRank([1, 1, 2, 3]));
        Assert.Equal([0.875, 0.375, 0.375, 0.375], Preprocessor.EqualiseMidRank([9, -4, -4, -4]));
    }

    [Fact]
    public void Run_MonotonicToneChange_GivesTheSameTensor()
    {
        // Window, bit depth and gamma are monotonic: the model must see the same input whatever the scanner chose.
        var random = new Random(7);
        var raw = Enumerable.Range(0, 64).Select(_ => (float)random.Next(0, 1024)).ToArray();
        var toned = raw.Select(v => (float)(65535 * Math.Pow(v / 1023.0, 0.6))).ToArray();
        var preprocessor = new Preprocessor(Spec with { Resize = Spec.Resize with { Width = 8, Height = 8 } });

        var a = preprocessor.Run(Image(raw, 8, "MONOCHROME2"));
        var b = preprocessor.Run(Image(toned, 8, "MONOCHROME2"));

        Assert.Equal(a, b);
    }

    [Fact]
    public void Run_Monochrome1_IsNegatedSoBoneIsBrightAsInMonochrome2()
    {
        var values = new float[] { 10, 20, 30, 40 };
        var inverted = values.Select(v => 100 - v).ToArray();
        var preprocessor = new Preprocessor(Spec);

        Assert.Equal(preprocessor.Run(Image(values, 2, "MONOCHROME2")), preprocessor.Run(Image(inverted, 2, "MONOCHROME1")));
    }

    [Fact]
    public void Run_Normalise_AppliesMeanAndStd()
    {
        var tensor = new Preprocessor(Spec).Run(Image([1, 2, 3, 4], 2, "MONOCHROME2"));

        // Mid-ranks 0.125, 0.375, 0.625, 0.875 -> (y - 0.5) / 0.25.
        Assert.Equal([-1.5f, -0.5f, 0.5f, 1.5f], tensor);
    }

    [Fact]
    public void Run_NonSquareImage_MatchesTheTrainingRecipeWithinOneRank()
    {
        // Fixtures/make_resize_fixture.py wrote the Python reference for this exact image (scale factors 300/128 and 181/128).
        const int width = 300, height = 181;
        var pixels = new float[width * height];
        for (var r = 0; r < height; r++)
        {
            for (var c = 0; c < width; c++)
            {
                pixels[(r * width) + c] = (((r * 7919L) + (c * 104729L)) % 4096) + (3 * r) + (2 * c);
            }
        }

        var spec = Spec with { Resize = Spec.Resize with { Width = 128, Height = 128 }, Normalise = new NormaliseSpec { Mean = 0.5, Std = 0.2887 } };
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "preprocess-nonsquare.csv")).Select(l => float.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var tensor = new Preprocessor(spec).Run(new DecodedImage(new GrayImage(width, height, pixels), new ImageHeader { Format = ImageFormat.Dicom }, PatientIdentity.None));

        // Area sums in another order can tie or swap two values that differ by ~1e-12; that moves a pixel by one rank, no more.
        var oneRank = 1.0 / (128 * 128) / 0.2887;
        Assert.Equal(expected.Length, tensor.Length);
        Assert.All(expected.Zip(tensor), pair => Assert.InRange(Math.Abs(pair.First - pair.Second), 0, oneRank + 1e-6));
        Assert.True(expected.Zip(tensor).Count(pair => Math.Abs(pair.First - pair.Second) > 1e-5) < 16, "More than a few pixels changed rank.");
    }

    private static DecodedImage Image(float[] pixels, int side, string photometric) =>
        new(new GrayImage(side, pixels.Length / side, pixels), new ImageHeader { Format = ImageFormat.Dicom, Photometric = photometric }, PatientIdentity.None);
}
