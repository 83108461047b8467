using Edge.Domain;

namespace Edge.Domain.Tests;

public sealed class QualityChecksTests
{
    private static readonly PixelStats GoodPixels = new(2000, 2000, 100, 3000, 1000, 0.05);

    private static ImageHeader Dicom(string? modality = "CR", string? bodyPart = "CHEST", string? view = "PA", int? age = 40, params string[] imageType) => new()
    {
        Format = ImageFormat.Dicom,
        Modality = modality,
        BodyPartExamined = bodyPart,
        ViewPosition = view,
        AgeYears = age,
        ImageType = imageType,
    };

    public static TheoryData<string, ImageHeader, QcVerdict, string?> Headers => new()
    {
        { "frontal adult chest CR", Dicom(), QcVerdict.Pass, null },
        { "DX chest", Dicom(modality: "DX"), QcVerdict.Pass, null },
        { "hip", Dicom(bodyPart: "HIP"), QcVerdict.Reject, "body-part-not-chest" },
        { "body part empty", Dicom(bodyPart: ""), QcVerdict.Warn, "body-part-missing" },
        { "lateral", Dicom(view: "LL"), QcVerdict.Reject, "view-lateral" },
        { "AP view", Dicom(view: "AP"), QcVerdict.Warn, "view-ap" },
        { "child of 6", Dicom(age: 6), QcVerdict.Reject, "age-below-intended-use" },
        { "age 15 is in intended use", Dicom(age: 15), QcVerdict.Pass, null },
        { "MR", Dicom(modality: "MR"), QcVerdict.Reject, "modality-not-radiograph" },
        { "CT slice", Dicom(modality: "CT", imageType: ["ORIGINAL", "PRIMARY", "AXIAL"]), QcVerdict.Reject, "modality-ct-slice" },
        { "CT scout", Dicom(modality: "CT", imageType: ["ORIGINAL", "PRIMARY", "LOCALIZER"]), QcVerdict.Warn, "modality-ct-scout" },
        { "secondary capture", Dicom(modality: "OT"), QcVerdict.Warn, "secondary-capture" },
        { "PNG has no header to check", new ImageHeader { Format = ImageFormat.Png }, QcVerdict.Pass, null },
        { "description names the knee", Dicom(bodyPart: "") with { Descriptions = ["XR KNEE 2 VIEWS"] }, QcVerdict.Reject, "description-not-chest" },
        { "description names chest and shoulder", Dicom() with { Descriptions = ["CHEST PA", "incl. shoulder"] }, QcVerdict.Pass, null },
        { "thoracic description", Dicom(bodyPart: "") with { Descriptions = ["Thorax p.a."] }, QcVerdict.Warn, "body-part-missing" },
        { "colour DICOM", Dicom() with { Photometric = "RGB" }, QcVerdict.Reject, "colour-unsupported" },
        { "colour photo of film as JPEG", new ImageHeader { Format = ImageFormat.Jpeg, Photometric = "RGB" }, QcVerdict.Pass, null },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Evaluate_Header_GivesVerdictAndFinding(string because, ImageHeader header, QcVerdict expected, string? code)
    {
        var report = QualityChecks.Evaluate(header, GoodPixels, new QcLimits());

        Assert.True(expected == report.Verdict, because);
        if (code is null)
        {
            Assert.Empty(report.Findings);
        }
        else
        {
            Assert.Contains(report.Findings, f => f.Code == code);
        }
    }

    public static TheoryData<string, PixelStats, QcVerdict, string> Pixels => new()
    {
        { "too small", new PixelStats(100, 100, 0, 255, 200, 0.01), QcVerdict.Reject, "image-too-small" },
        { "strip", new PixelStats(2000, 400, 0, 255, 200, 0.01), QcVerdict.Reject, "aspect-not-chest" },
        { "blank", new PixelStats(512, 512, 7, 7, 1, 1.0), QcVerdict.Reject, "image-blank" },
        { "saturated", new PixelStats(512, 512, 0, 255, 200, 0.8), QcVerdict.Warn, "image-saturated" },
    };

    [Theory]
    [MemberData(nameof(Pixels))]
    public void Evaluate_Pixels_GivesVerdictAndFinding(string because, PixelStats stats, QcVerdict expected, string code)
    {
        var report = QualityChecks.Evaluate(new ImageHeader { Format = ImageFormat.Png }, stats, new QcLimits());

        Assert.True(expected == report.Verdict, because);
        Assert.Contains(report.Findings, f => f.Code == code);
    }

    [Fact]
    public void Evaluate_RejectAndWarning_RejectWinsAndBothAreReported()
    {
        var report = QualityChecks.Evaluate(Dicom(bodyPart: "HIP", view: "AP"), GoodPixels, new QcLimits());

        Assert.Equal(QcVerdict.Reject, report.Verdict);
        Assert.Equal(["body-part-not-chest", "view-ap"], report.Findings.Select(f => f.Code));
    }

    [Theory]
    [InlineData(0.9f, 0.2f, null)]
    [InlineData(0.45f, 0.5f, QcVerdict.Warn)]
    [InlineData(0.2f, 0.9f, QcVerdict.Reject)]
    public void CheckPolarity_CentreAgainstLungs_PassesWarnsOrRefuses(float centre, float lungs, QcVerdict? expected)
    {
        // A 10 x 10 sketch: a bright (or dark) central column between two lung fields.
        var ranks = new float[100];
        for (var r = 0; r < 10; r++)
        {
            for (var c = 0; c < 10; c++)
            {
                ranks[(r * 10) + c] = c is 4 or 5 ? centre : lungs;
            }
        }

        Assert.Equal(expected, QualityChecks.CheckPolarity(ranks, 10, 10)?.Severity);
    }

    [Fact]
    public void PixelStatsOf_UniformImage_HasOneLevelAndIsFullySaturated()
    {
        var stats = PixelStats.Of(new GrayImage(300, 200, Enumerable.Repeat(5f, 60000).ToArray()));

        Assert.Equal(1, stats.DistinctLevels);
        Assert.Equal(1.0, stats.SaturatedFraction);
        Assert.Equal((300, 200), (stats.Width, stats.Height));
    }

    [Fact]
    public void PixelStatsOf_Ramp_HasPercentilesNearTheEnds()
    {
        var stats = PixelStats.Of(new GrayImage(100, 100, Enumerable.Range(0, 10000).Select(i => (float)i).ToArray()));

        Assert.InRange(stats.P01, 90, 110);
        Assert.InRange(stats.P99, 9890, 9910);
    }
}
