using Edge.Dicom.Results;
using Edge.Domain;
using Edge.Imaging;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Results;

/// <summary>Made-up results, overlays built the way the pipeline builds them, and the real validators.</summary>
internal static class ResultObjects
{
    public static readonly DateTimeOffset ScreenedAt = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);

    public static ScreeningReport Report(Referral referral = Referral.Refer, string resultId = "01JQ0Z5K8T3M2N4P6R7S9V0W1X") => new()
    {
        ResultId = resultId,
        Probability = referral == Referral.Refer ? 0.7312 : 0.1204,
        Decision = new Decision(referral, 0.5, ThresholdSource.Site),
        Model = new ModelIdentity("tb-cxr", "1.0.0", "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4b6d8f0a2c4e6b8d0f"),
        Qc = QcReport.Of([new QcFinding("view-ap", QcVerdict.Warn, "AP view: the model was trained mostly on PA views.")]),
        ScreenedAt = ScreenedAt,
        ExecutionProvider = "Cpu",
    };

    public static DicomResultOptions Options(string language = DicomResultOptions.English) => new()
    {
        SiteId = "site-kzn-014",
        DeviceId = "edge-0042",
        SoftwareVersion = "1.4.0",
        Language = language,
        TimeZone = TimeZoneInfo.FindSystemTimeZoneById("Africa/Johannesburg"),
    };

    /// <summary>The source shown as the page shows it, with a made-up heatmap hot in the right upper zone.</summary>
    public static RgbImage Overlay(string sourcePath)
    {
        var display = DisplayImage.Render(DicomFileReader.Read(sourcePath), maxSide: 512);
        const int side = 16;
        var heatmap = new float[side * side];
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                heatmap[(y * side) + x] = MathF.Max(0, 1 - (MathF.Sqrt(((x - 5) * (x - 5)) + ((y - 5) * (y - 5))) / 5));
            }
        }

        return HeatmapOverlay.Render(display, heatmap, side, side);
    }

    /// <summary>dciodvfy's complaints, split into errors and warnings (it writes them to stderr).</summary>
    public static async Task<(IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)> ValidateAsync(string path)
    {
        var run = await ChildProcess.RunAsync("dciodvfy", [path], TimeSpan.FromSeconds(120));
        var lines = (run.Stdout + run.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return ([.. lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal))], [.. lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal))]);
    }

    /// <summary>Every value of one tag, at any depth, as dcmdump prints it (without brackets). No +U8: DCMTK would add ISO_IR 192 itself.</summary>
    public static async Task<IReadOnlyList<string>> DumpValuesAsync(string path, string tag)
    {
        var run = await ChildProcess.RunAsync("dcmdump", ["-q", "+L", "+P", tag, path], TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, run.Stderr);
        return [.. run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim())
            .Where(l => l.Contains('[', StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf('[', StringComparison.Ordinal) + 1)..l.LastIndexOf(']')])];
    }
}
