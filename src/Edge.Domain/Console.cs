using System.Globalization;

namespace Edge.Domain;

/// <summary>What the status lights show, in priority order: a fault outranks an unacknowledged referral, which outranks attention.</summary>
public enum LightState
{
    Ready,
    Screening,
    Attention,
    Refer,
    Fault,
}

/// <summary>Facts the console indicators are derived from.</summary>
public sealed record ConsoleFacts(int InProgress, bool ReferPending, bool AttentionNeeded, bool Fault)
{
    public static ConsoleFacts Idle { get; } = new(0, false, false, false);
}

/// <summary>Pure mapping from facts to the light shown.</summary>
public static class LightPolicy
{
    public static LightState Show(ConsoleFacts facts) => facts switch
    {
        { Fault: true } => LightState.Fault,
        { ReferPending: true } => LightState.Refer,
        { AttentionNeeded: true } => LightState.Attention,
        { InProgress: > 0 } => LightState.Screening,
        _ => LightState.Ready,
    };

    /// <summary>The facts after a result: a referral holds the red light until acknowledged; a rejection asks for attention.</summary>
    public static ConsoleFacts After(ConsoleFacts facts, ScreeningResult result) => result.Status switch
    {
        ScreeningStatus.Screened when result.Decision?.Referral == Referral.Refer => facts with { ReferPending = true, AttentionNeeded = false },
        ScreeningStatus.Screened => facts with { AttentionNeeded = false },
        _ => facts with { AttentionNeeded = true },
    };
}

/// <summary>Drives the status lights; implementations: GPIO on the device, a simulator elsewhere.</summary>
public interface IStatusLights
{
    ValueTask ShowAsync(LightState state, CancellationToken cancellationToken);
}

/// <summary>A printed triage slip: short lines that fit a 58 mm roll (32 characters).</summary>
public sealed record Slip(string ResultId, IReadOnlyList<string> Lines, bool Emphasise);

/// <summary>Prints a slip; implementations: ESC/POS over serial on the device, files in the simulator.</summary>
public interface ISlipPrinter
{
    ValueTask PrintAsync(Slip slip, CancellationToken cancellationToken);
}

/// <summary>What goes on the slip: a pure function of the result.</summary>
public static class SlipComposer
{
    public const int Width = 32;

    public static Slip Compose(ScreeningResult result, string siteId, TimeZoneInfo timeZone)
    {
        var local = TimeZoneInfo.ConvertTime(result.ScreenedAt, timeZone);
        var lines = new List<string>
        {
            Centre("TB SCREENING (AI)"),
            Centre(siteId),
            new('-', Width),
            "Time: " + local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            "Ref:  " + Truncate(result.Identity.AccessionNumber ?? ShortId(result.Id), Width - 6),
            new('-', Width),
        };

        switch (result.Status)
        {
            case ScreeningStatus.Screened when result.Decision is { } decision && result.Probability is { } p:
                lines.Add(decision.Referral == Referral.Refer ? Centre("*** REFER FOR TB TEST ***") : Centre("NO TB SIGNS FOUND"));
                lines.Add(decision.Referral == Referral.Refer ? Centre("Sputum / Xpert today") : Centre("Routine care"));
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"Score {p * 100:0.0} / threshold {decision.Threshold * 100:0.0}"));
                break;
            case ScreeningStatus.Rejected:
                lines.Add(Centre("NOT SCREENED"));
                lines.AddRange(result.Qc.Findings.Where(f => f.Severity == QcVerdict.Reject).SelectMany(f => Wrap(f.Message)));
                break;
            default:
                lines.Add(Centre("NOT SCREENED: ERROR"));
                lines.AddRange(Wrap(result.Error ?? "Unknown error."));
                break;
        }

        foreach (var warning in result.Qc.Findings.Where(f => f.Severity == QcVerdict.Warn))
        {
            lines.AddRange(Wrap("Note: " + warning.Message));
        }

        lines.Add(new string('-', Width));
        if (result.Model is { } model)
        {
            lines.Add(Truncate($"Model {model.Name} {model.Version}", Width));
        }

        lines.Add("AI triage aid, not a diagnosis.");
        return new Slip(result.Id, lines, result.Decision?.Referral == Referral.Refer);
    }

    private static string ShortId(string id) => id.Length > 12 ? id[^12..] : id;

    private static string Centre(string text)
    {
        text = Truncate(text, Width);
        var pad = (Width - text.Length) / 2;
        return new string(' ', pad) + text;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private static IEnumerable<string> Wrap(string text)
    {
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > Width)
            {
                yield return line.ToString();
                line.Clear();
            }

            if (line.Length > 0)
            {
                line.Append(' ');
            }

            line.Append(Truncate(word, Width));
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
