using System.Globalization;

namespace Edge.Domain;

public enum QcVerdict
{
    Pass,
    Warn,
    Reject,
}

/// <summary>One finding of the quality checks: a stable code for software, a sentence for the technician.</summary>
public sealed record QcFinding(string Code, QcVerdict Severity, string Message);

public sealed record QcReport(QcVerdict Verdict, IReadOnlyList<QcFinding> Findings)
{
    public static QcReport NotChecked { get; } = new(QcVerdict.Reject, [new QcFinding("not-checked", QcVerdict.Reject, "The image could not be checked.")]);

    public IEnumerable<string> Reasons => Findings.Select(f => f.Message);

    public static QcReport Of(IReadOnlyList<QcFinding> findings)
    {
        var verdict = findings.Count == 0 ? QcVerdict.Pass : findings.Max(f => f.Severity);
        return new QcReport(verdict, findings);
    }
}

/// <summary>Cheap pixel statistics the quality checks need, computed once per image.</summary>
public sealed record PixelStats(int Width, int Height, double P01, double P99, int DistinctLevels, double SaturatedFraction)
{
    /// <summary>Percentiles on a strided sample: exact enough for a go / no-go check and bounded in cost for 4k x 4k images.</summary>
    public static PixelStats Of(GrayImage image)
    {
        var pixels = image.Pixels;
        var stride = Math.Max(1, pixels.Length / 65536);
        var sample = new float[(pixels.Length + stride - 1) / stride];
        for (int i = 0, j = 0; i < pixels.Length; i += stride, j++)
        {
            sample[j] = pixels[i];
        }

        Array.Sort(sample);
        var min = sample[0];
        var max = sample[^1];
        var distinct = 1;
        var saturated = 0;
        for (var i = 0; i < sample.Length; i++)
        {
            if (i > 0 && sample[i] != sample[i - 1])
            {
                distinct++;
            }

            if (sample[i] == min || sample[i] == max)
            {
                saturated++;
            }
        }

        return new PixelStats(
            image.Width,
            image.Height,
            sample[(int)((sample.Length - 1) * 0.01)],
            sample[(int)((sample.Length - 1) * 0.99)],
            distinct,
            (double)saturated / sample.Length);
    }
}

/// <summary>Limits for the quality checks, from configuration.</summary>
public sealed record QcLimits
{
    public int MinAgeYears { get; init; } = 15;

    public int MinDimension { get; init; } = 128;

    public double MaxAspectRatio { get; init; } = 2.0;

    public int MinDistinctLevels { get; init; } = 16;

    public double MaxSaturatedFraction { get; init; } = 0.6;
}

/// <summary>
/// Is this a frontal adult chest radiograph the model may score? Pure: header facts and pixel statistics in, findings out.
/// Rejections keep the model away from images outside its intended use; warnings are shown with the score.
/// </summary>
public static class QualityChecks
{
    private static readonly HashSet<string> RadiographModalities = new(StringComparer.OrdinalIgnoreCase) { "CR", "DX", "DR", "RG" };
    private static readonly HashSet<string> ChestBodyParts = new(StringComparer.OrdinalIgnoreCase) { "CHEST", "THORAX", "LUNG", "LUNGS", "TORAX", "THORAX_PA" };
    // Words in descriptions that name another body part; a description that also names the chest is left alone.
    private static readonly string[] OtherBodyParts = ["HIP", "PELVIS", "KNEE", "SKULL", "HEAD", "HAND", "FOOT", "ANKLE", "WRIST", "ELBOW", "SHOULDER", "ABDOMEN", "FEMUR", "TIBIA", "HUMERUS", "FOREARM", "LEG", "SINUS", "DENTAL", "MAMMO", "BREAST", "LUMBAR", "CERVICAL"];
    private static readonly string[] ChestWords = ["CHEST", "THORAX", "THORAC", "LUNG", "PULMO", "CXR", "TORAX"];
    private static readonly HashSet<string> LateralViews = new(StringComparer.OrdinalIgnoreCase) { "LL", "RL", "LAT", "LATERAL", "LLD", "RLD" };

    public static QcReport Evaluate(ImageHeader header, PixelStats stats, QcLimits limits)
    {
        var findings = new List<QcFinding>();
        if (header.Format == ImageFormat.Dicom)
        {
            CheckDicomHeader(header, limits, findings);
        }

        CheckPixels(stats, limits, findings);
        return QcReport.Of(findings);
    }

    private static void CheckDicomHeader(ImageHeader header, QcLimits limits, List<QcFinding> findings)
    {
        var modality = header.Modality?.Trim();
        if (string.IsNullOrEmpty(modality))
        {
            findings.Add(new("modality-missing", QcVerdict.Warn, "The image does not say which kind of scanner made it."));
        }
        else if (string.Equals(modality, "CT", StringComparison.OrdinalIgnoreCase))
        {
            if (!header.ImageType.Any(t => string.Equals(t, "LOCALIZER", StringComparison.OrdinalIgnoreCase)))
            {
                findings.Add(new("modality-ct-slice", QcVerdict.Reject, "CT slice, not a chest radiograph: only CT scout (localizer) images can be screened."));
            }
            else
            {
                findings.Add(new("modality-ct-scout", QcVerdict.Warn, "CT scout image: the model was trained on chest radiographs."));
            }
        }
        else if (string.Equals(modality, "OT", StringComparison.OrdinalIgnoreCase) || string.Equals(modality, "SC", StringComparison.OrdinalIgnoreCase))
        {
            findings.Add(new("secondary-capture", QcVerdict.Warn, "Secondary capture: image quality cannot be checked from the header."));
        }
        else if (!RadiographModalities.Contains(modality))
        {
            findings.Add(new("modality-not-radiograph", QcVerdict.Reject, $"Modality {Sanitise(modality)} is not a radiograph."));
        }

        var bodyPart = header.BodyPartExamined?.Trim();
        if (string.IsNullOrEmpty(bodyPart))
        {
            findings.Add(new("body-part-missing", QcVerdict.Warn, "The image does not say which body part it shows."));
        }
        else if (!ChestBodyParts.Contains(bodyPart))
        {
            findings.Add(new("body-part-not-chest", QcVerdict.Reject, $"Body part is {Sanitise(bodyPart)}, not chest."));
        }

        if (DescribedBodyPart(header.Descriptions) is { } other)
        {
            findings.Add(new("description-not-chest", QcVerdict.Reject, $"The study or series description names {other}, not the chest."));
        }

        if (header.Photometric is not ("MONOCHROME1" or "MONOCHROME2"))
        {
            findings.Add(new("colour-unsupported", QcVerdict.Reject, "Colour DICOM image: radiographs are grayscale, so this is not one the model can screen."));
        }

        var view = header.ViewPosition?.Trim();
        if (!string.IsNullOrEmpty(view))
        {
            if (LateralViews.Contains(view))
            {
                findings.Add(new("view-lateral", QcVerdict.Reject, "Lateral view: only frontal (PA or AP) chest images can be screened."));
            }
            else if (string.Equals(view, "AP", StringComparison.OrdinalIgnoreCase))
            {
                findings.Add(new("view-ap", QcVerdict.Warn, "AP view: the model was trained mostly on PA views."));
            }
        }

        if (header.AgeYears is { } age && age < limits.MinAgeYears)
        {
            findings.Add(new("age-below-intended-use", QcVerdict.Reject, string.Create(CultureInfo.InvariantCulture, $"Patient is under {limits.MinAgeYears}: the model is intended for adults and adolescents {limits.MinAgeYears}+.")));
        }
    }

    /// <summary>
    /// Polarity from anatomy, on the model's equalised input (values are pixel ranks in 0..1): in a frontal chest image shown
    /// the right way round, the mediastinum and spine (central strip) are brighter than the lung fields beside them.
    /// An inverted image (MONOCHROME1/2 mislabelled by the console) makes the model's score meaningless, so it is refused.
    /// On the 656 Shenzhen images the contrast is at least -0.11 (median +0.30, 5 below 0); of their inverted copies 621 are
    /// below -0.14 and all but 5 below 0. So below -0.14 refuses, between that and 0 warns.
    /// </summary>
    public static QcFinding? CheckPolarity(ReadOnlySpan<float> ranks, int width, int height)
    {
        var centre = Mean(ranks, width, height, 0.20, 0.80, 0.42, 0.58);
        var lungs = (Mean(ranks, width, height, 0.20, 0.70, 0.15, 0.35) + Mean(ranks, width, height, 0.20, 0.70, 0.65, 0.85)) / 2;
        var contrast = centre - lungs;
        return contrast switch
        {
            < -0.14 => new QcFinding("polarity-inverted", QcVerdict.Reject, "Image looks inverted (lungs bright, spine dark): check the console's MONOCHROME1/2 setting and send again."),
            < 0 => new QcFinding("polarity-doubtful", QcVerdict.Warn, "Lungs are not darker than the spine: check positioning, exposure and polarity."),
            _ => null,
        };
    }

    private static double Mean(ReadOnlySpan<float> values, int width, int height, double top, double bottom, double left, double right)
    {
        int r0 = (int)(top * height), r1 = (int)(bottom * height), c0 = (int)(left * width), c1 = (int)(right * width);
        double sum = 0;
        for (var r = r0; r < r1; r++)
        {
            for (var c = c0; c < c1; c++)
            {
                sum += values[(r * width) + c];
            }
        }

        return sum / ((r1 - r0) * (c1 - c0));
    }

    private static void CheckPixels(PixelStats stats, QcLimits limits, List<QcFinding> findings)
    {
        if (Math.Min(stats.Width, stats.Height) < limits.MinDimension)
        {
            findings.Add(new("image-too-small", QcVerdict.Reject, string.Create(CultureInfo.InvariantCulture, $"Image is {stats.Width} x {stats.Height} pixels; at least {limits.MinDimension} are needed on each side.")));
        }

        var aspect = (double)Math.Max(stats.Width, stats.Height) / Math.Min(stats.Width, stats.Height);
        if (aspect > limits.MaxAspectRatio)
        {
            findings.Add(new("aspect-not-chest", QcVerdict.Reject, string.Create(CultureInfo.InvariantCulture, $"Image shape {stats.Width} x {stats.Height} is too narrow for a chest radiograph.")));
        }

        if (stats.DistinctLevels < limits.MinDistinctLevels || stats.P99 <= stats.P01)
        {
            findings.Add(new("image-blank", QcVerdict.Reject, "Image is blank or nearly uniform."));
        }
        else if (stats.SaturatedFraction > limits.MaxSaturatedFraction)
        {
            findings.Add(new("image-saturated", QcVerdict.Warn, "Most of the image is at its darkest or brightest value: check exposure and collimation."));
        }
    }

    /// <summary>The first non-chest body part a description names, unless one of them names the chest too.</summary>
    private static string? DescribedBodyPart(IReadOnlyList<string> descriptions)
    {
        var words = descriptions.SelectMany(d => d.ToUpperInvariant().Split([' ', '_', '-', '^', '/', '\\', ',', '.', '(', ')'], StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (words.Any(w => ChestWords.Any(c => w.StartsWith(c, StringComparison.Ordinal))))
        {
            return null;
        }

        return OtherBodyParts.FirstOrDefault(words.Contains);
    }

    // Header strings go on the page and the slip: keep them short and printable.
    private static string Sanitise(string value)
    {
        var chars = value.Where(c => !char.IsControl(c)).Take(32).ToArray();
        return new string(chars);
    }
}
