using Edge.Dicom;
using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Inference.Tests;

/// <summary>The anatomy-based polarity check on real chest images, through the same preprocessing the model gets.</summary>
public sealed class PolarityCheckTests
{
    private static readonly PreprocessingSpec Spec = new()
    {
        Monochrome1 = "negate",
        Resize = new ResizeSpec { Method = "area", Width = 128, Height = 128 },
        Intensity = new IntensitySpec { Method = "histogram-equalisation" },
        Normalise = new NormaliseSpec { Mean = 0.5, Std = 0.2887 },
    };

    [Fact]
    public async Task CheckPolarity_ShenzhenImagesAndTheirNegatives_PassesAllRefusesNearlyAllNegatives()
    {
        var preprocessor = new Preprocessor(Spec);
        var reader = new ImageFileReader();
        int rejectedUpright = 0, rejectedInverted = 0, total = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repo.Shenzhen, "images"), "*.png"))
        {
            var image = await reader.ReadAsync(file, CancellationToken.None);
            var negative = image with { Pixels = new GrayImage(image.Pixels.Width, image.Pixels.Height, Array.ConvertAll(image.Pixels.Pixels, v => 255 - v)) };
            rejectedUpright += IsRejected(preprocessor, image) ? 1 : 0;
            rejectedInverted += IsRejected(preprocessor, negative) ? 1 : 0;
            total++;
        }

        Assert.Equal(522, total);
        Assert.Equal(0, rejectedUpright);
        Assert.True(rejectedInverted >= total * 0.9, $"Only {rejectedInverted} of {total} inverted images refused.");
    }

    [Fact]
    public async Task CheckPolarity_Monochrome1Sample_IsUprightOnceNegated()
    {
        var image = await new ImageFileReader().ReadAsync(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), CancellationToken.None);

        Assert.True(image.Header.DisplaysInverted);
        Assert.False(IsRejected(new Preprocessor(Spec), image));
    }

    // DX MONOCHROME1 with Presentation LUT Shape INVERSE: one inversion, so the model sees it upright; the other shared
    // file that looks inverted (MONOCHROME2 with IDENTITY, bones dark) is still refused.
    [Fact]
    public async Task CheckPolarity_Monochrome1WithInverseShape_IsUprightAndTheMislabelledSampleIsRefused()
    {
        var reader = new ImageFileReader();
        var dx = await reader.ReadAsync(Path.Combine(Repo.SharedDicom, "966_fixed.dcm"), CancellationToken.None);
        var mislabelled = await reader.ReadAsync(Path.Combine(Repo.SharedDicom, "JPEG2KLossless_1s_1f_u_16_16.dcm"), CancellationToken.None);

        Assert.True(dx.Header.DisplaysInverted);
        Assert.False(IsRejected(new Preprocessor(Spec), dx));
        Assert.False(mislabelled.Header.DisplaysInverted);
        Assert.True(IsRejected(new Preprocessor(Spec), mislabelled));
    }

    private static bool IsRejected(Preprocessor preprocessor, DecodedImage image) =>
        QualityChecks.CheckPolarity(preprocessor.Ranks(preprocessor.Run(image)), 128, 128)?.Severity == QcVerdict.Reject;
}
