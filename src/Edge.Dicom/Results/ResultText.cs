using System.Globalization;
using Edge.Domain;

namespace Edge.Dicom.Results;

/// <summary>
/// The sentences our objects carry, per language. The SC's burned-in lines are always English: the built-in bitmap
/// font has ASCII only, so in zh-CN the Chinese wording is in the SR's text items alone.
/// </summary>
internal static class ResultText
{
    public const string SeriesDescriptionSr = "TB AI triage (Edge)";
    public const string SeriesDescriptionSc = "TB AI triage overlay (Edge)";
    public const string EnglishIntendedUse = "AI triage aid, not a diagnosis.";

    public static string IntendedUse(string language) => language == DicomResultOptions.SimplifiedChinese
        ? "人工智能分诊辅助工具，并非诊断。"
        : EnglishIntendedUse;

    public static string Summary(string language, ScreeningReport report)
    {
        var score = Score(report.Probability);
        var threshold = Score(report.Decision.Threshold);
        var refer = report.Decision.Referral == Referral.Refer;
        return language == DicomResultOptions.SimplifiedChinese
            ? refer
                ? $"建议转诊做结核病检测（痰检/Xpert）。AI评分 {score}，阈值 {threshold}。"
                : $"AI未发现结核病征象，按常规处理。AI评分 {score}，阈值 {threshold}。"
            : refer
                ? $"Refer for TB test (sputum / Xpert). AI score {score}, threshold {threshold}."
                : $"No TB signs found by the AI; routine care. AI score {score}, threshold {threshold}.";
    }

    public static string ThresholdSource(string language, ThresholdSource source) => (language, source) switch
    {
        (DicomResultOptions.SimplifiedChinese, Domain.ThresholdSource.Site) => "站点校准阈值 (site)",
        (DicomResultOptions.SimplifiedChinese, _) => "模型包默认阈值 (bundle)",
        (_, Domain.ThresholdSource.Site) => "site: calibrated for this site",
        _ => "bundle: the model bundle's default",
    };

    /// <summary>The lines burned into the Secondary Capture, ASCII only.</summary>
    public static IReadOnlyList<string> BurnedInLines(ScreeningReport report)
    {
        var source = report.Decision.Source == Domain.ThresholdSource.Site ? "site" : "bundle";
        return
        [
            report.Decision.Referral == Referral.Refer ? "REFER FOR TB TEST" : "NO TB SIGNS FOUND",
            $"TB AI score {Score(report.Probability)} / threshold {Score(report.Decision.Threshold)} ({source})",
            $"Model {report.Model.Name} {report.Model.Version}",
            EnglishIntendedUse,
        ];
    }

    /// <summary>0..1 probability on the 0-100 scale of the slip and synced results, one decimal.</summary>
    public static string Score(double probability) => (probability * 100).ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>The NUM value: four decimals is finer than any calibration, and fits DS's 16 characters.</summary>
    public static string ScoreDecimal(double probability) => Math.Round(probability * 100, 4).ToString("0.####", CultureInfo.InvariantCulture);
}
