using Edge.Domain;
using Edge.Imaging;

namespace Edge.Hardware.Tests;

/// <summary>Slips for tests: composed the product's way from a made-up result.</summary>
public static class Slips
{
    public static readonly SlipSettings Settings = new("Demo Clinic", TimeZoneInfo.Utc);

    public static Slip Refer(string id, bool withThumbnail = false, SlipLanguage language = SlipLanguage.English) =>
        SlipComposer.Compose(Result(id, 0.72, Referral.Refer), Settings with { Language = language }, withThumbnail ? Thumbnail() : null);

    public static ScreeningResult Result(string id, double? p, Referral? referral) => new()
    {
        Id = id,
        OriginalName = "x.dcm",
        Source = IntakeSource.DicomStore,
        ReceivedAt = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero),
        ScreenedAt = new DateTimeOffset(2026, 3, 1, 8, 0, 4, TimeSpan.Zero),
        Status = ScreeningStatus.Screened,
        Probability = p,
        Decision = referral is { } r ? new Decision(r, 0.40, ThresholdSource.Bundle) : null,
        Model = new ModelIdentity("tb-cxr", "1.0.0", new string('a', 64)),
        Qc = QcReport.Of([]),
    };

    /// <summary>A made-up chest: two dark lung fields in a lighter body, and heat over the right upper field.</summary>
    public static SlipBlock.Picture Thumbnail()
    {
        const int width = 200, height = 240;
        var pixels = new byte[width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var lung = (Math.Abs(x - 60) < 35 || Math.Abs(x - 140) < 35) && y is > 40 and < 200;
                pixels[(y * width) + x] = (byte)(lung ? 40 + (y / 4) : 190);
            }
        }

        var heatmap = new float[8 * 8];
        heatmap[(2 * 8) + 1] = 1f;
        heatmap[(2 * 8) + 2] = 0.6f;
        heatmap[(3 * 8) + 1] = 0.5f;
        return SlipThumbnail.Render(new Gray8Image(width, height, pixels), heatmap, 8, 8);
    }
}
