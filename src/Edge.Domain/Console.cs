using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Edge.Domain;

/// <summary>What the light tower says as one state, in priority order: a fault outranks an unacknowledged referral, which outranks attention.</summary>
public enum LightState
{
    Ready,
    Screening,
    Attention,
    Refer,
    Fault,
}

/// <summary>How one light line is driven. Blink rates follow IEC 60601-1-8: slow for attention, fast for a fault.</summary>
public enum LightPattern
{
    Off,
    Steady,
    Blink1Hz,
    Blink2Hz,
}

/// <summary>The buzzer's sound; refer and fault differ so the technician can tell them apart without looking.</summary>
public enum BuzzerPattern
{
    None,
    Refer,
    Fault,
}

/// <summary>The light lines a console may have; <see cref="Sync"/> only where the board has a fourth line.</summary>
public enum ConsoleLine
{
    Green,
    Yellow,
    Red,
    Sync,
}

/// <summary>Whether results reach the provincial programme: sync line steady, blinking or off.</summary>
public enum SyncState
{
    Offline,
    Backlog,
    Synced,
}

/// <summary>Something that happened at the console. The state machine turns a sequence of these into lights and sound.</summary>
public abstract record ConsoleEvent
{
    /// <summary>An image entered the pipeline.</summary>
    public sealed record ImageReceived : ConsoleEvent;

    /// <summary>An image left the pipeline without a new result (already recorded, or kept in the spool after a storage failure).</summary>
    public sealed record ImageLeft : ConsoleEvent;

    /// <summary>An image was screened: a referral holds the red light until acknowledged.</summary>
    public sealed record Screened(Referral Referral) : ConsoleEvent;

    /// <summary>An image was not screened (rejected by the quality checks, or failed): the technician must look.</summary>
    public sealed record NotScreened : ConsoleEvent;

    /// <summary>The button's short press or the page: the referral and the last rejection were seen; a sounding fault is silenced.</summary>
    public sealed record Acknowledged : ConsoleEvent;

    public sealed record FaultRaised(string Name) : ConsoleEvent;

    public sealed record FaultCleared(string Name) : ConsoleEvent;

    /// <summary>A condition the technician must fix that does not stop screening: printer out of paper or offline, disk low.</summary>
    public sealed record AttentionRaised(string Name) : ConsoleEvent;

    public sealed record AttentionCleared(string Name) : ConsoleEvent;

    public sealed record SyncChanged(SyncState Sync) : ConsoleEvent;
}

/// <summary>Well-known fault and attention names, so producers and the page agree.</summary>
public static class ConsoleConditions
{
    public const string ModelNotLoaded = "model-not-loaded";

    /// <summary>A newer bundle failed verification; an older one serves, but someone must look.</summary>
    public const string ModelRefused = "model-refused";
    public const string Storage = "storage";
    public const string Inference = "inference";
    public const string PrinterOffline = "printer-offline";
    public const string PrinterOutOfPaper = "printer-out-of-paper";

    /// <summary>The roll's near-end sensor: slips still print, but a new roll is due.</summary>
    public const string PrinterPaperLow = "printer-paper-low";
    public const string PrinterCoverOpen = "printer-cover-open";
    public const string DiskLow = "disk-low";
}

/// <summary>Everything the console outputs are derived from. Build it only through <see cref="ConsoleMachine.Apply"/>.</summary>
public sealed record ConsoleState
{
    public static ConsoleState Initial { get; } = new();

    public int InProgress { get; init; }

    public bool ReferPending { get; init; }

    /// <summary>The last image was not screened; cleared by the next screened image or an acknowledgement.</summary>
    public bool LastImageNotScreened { get; init; }

    public ImmutableSortedSet<string> Faults { get; init; } = ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal);

    /// <summary>The fault buzzer was acknowledged; a new fault sounds again.</summary>
    public bool FaultSilenced { get; init; }

    public ImmutableSortedSet<string> Attentions { get; init; } = ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal);

    public SyncState Sync { get; init; } = SyncState.Offline;
}

/// <summary>Configuration the outputs depend on.</summary>
public sealed record ConsoleSettings(bool MuteReferBuzzer = false, bool MuteFaultBuzzer = false)
{
    public static ConsoleSettings Default { get; } = new();
}

/// <summary>Every console output at one moment: each light line's pattern and the buzzer's.</summary>
public sealed record ConsoleOutput(LightState State, LightPattern Green, LightPattern Yellow, LightPattern Red, LightPattern Sync, BuzzerPattern Buzzer)
{
    public LightPattern this[ConsoleLine line] => line switch
    {
        ConsoleLine.Green => Green,
        ConsoleLine.Yellow => Yellow,
        ConsoleLine.Red => Red,
        ConsoleLine.Sync => Sync,
        _ => throw new ArgumentOutOfRangeException(nameof(line)),
    };

    /// <summary>Colour and pattern in words, for logs and the page.</summary>
    public string Describe() => State switch
    {
        LightState.Ready => "green steady (ready)",
        LightState.Screening => "yellow steady (screening)",
        LightState.Attention => "yellow blink 1Hz (attention)",
        LightState.Refer => "red steady (refer for TB test)",
        LightState.Fault => Buzzer == BuzzerPattern.Fault ? "red blink 2Hz + buzzer (fault)" : "red blink 2Hz (fault)",
        _ => State.ToString(),
    };
}

/// <summary>
/// The console as a pure state machine: <see cref="Apply"/> folds events into <see cref="ConsoleState"/>,
/// <see cref="Output"/> says what every line and the buzzer do. No clocks, no I/O: blinking is the adapter's job.
/// </summary>
public static class ConsoleMachine
{
    public static ConsoleState Apply(ConsoleState state, ConsoleEvent e) => e switch
    {
        ConsoleEvent.ImageReceived => state with { InProgress = state.InProgress + 1 },
        ConsoleEvent.ImageLeft => state with { InProgress = Math.Max(0, state.InProgress - 1) },
        ConsoleEvent.Screened s => state with
        {
            InProgress = Math.Max(0, state.InProgress - 1),
            ReferPending = state.ReferPending || s.Referral == Referral.Refer,
            LastImageNotScreened = false,
        },
        ConsoleEvent.NotScreened => state with { InProgress = Math.Max(0, state.InProgress - 1), LastImageNotScreened = true },
        ConsoleEvent.Acknowledged => state with { ReferPending = false, LastImageNotScreened = false, FaultSilenced = !state.Faults.IsEmpty },
        ConsoleEvent.FaultRaised f when !state.Faults.Contains(f.Name) => state with { Faults = state.Faults.Add(f.Name), FaultSilenced = false },
        ConsoleEvent.FaultCleared f when state.Faults.Remove(f.Name) is var rest => state with { Faults = rest, FaultSilenced = state.FaultSilenced && !rest.IsEmpty },
        ConsoleEvent.AttentionRaised a => state with { Attentions = state.Attentions.Add(a.Name) },
        ConsoleEvent.AttentionCleared a => state with { Attentions = state.Attentions.Remove(a.Name) },
        ConsoleEvent.SyncChanged s => state with { Sync = s.Sync },
        _ => state,
    };

    public static ConsoleState ApplyAll(ConsoleState state, IEnumerable<ConsoleEvent> events) => events.Aggregate(state, Apply);

    public static LightState Headline(ConsoleState state) => state switch
    {
        { Faults.IsEmpty: false } => LightState.Fault,
        { ReferPending: true } => LightState.Refer,
        { LastImageNotScreened: true } or { Attentions.IsEmpty: false } => LightState.Attention,
        { InProgress: > 0 } => LightState.Screening,
        _ => LightState.Ready,
    };

    /// <summary>
    /// One colour at a time on the tower, so it reads as one state from across the room; the pattern (steady or blink)
    /// and the buzzer carry the meaning too, never colour alone. The sync line is independent.
    /// </summary>
    public static ConsoleOutput Output(ConsoleState state, ConsoleSettings settings)
    {
        var headline = Headline(state);
        var (green, yellow, red) = Lights(headline);
        var buzzer = headline switch
        {
            LightState.Fault when !state.FaultSilenced && !settings.MuteFaultBuzzer => BuzzerPattern.Fault,
            LightState.Refer when !settings.MuteReferBuzzer => BuzzerPattern.Refer,
            _ => BuzzerPattern.None,
        };
        var sync = state.Sync switch
        {
            SyncState.Synced => LightPattern.Steady,
            SyncState.Backlog => LightPattern.Blink1Hz,
            _ => LightPattern.Off,
        };
        return new ConsoleOutput(headline, green, yellow, red, sync, buzzer);
    }

    /// <summary>The headline alone (indicators without a sync line or buzzer, and start-up before any event).</summary>
    public static ConsoleOutput Output(LightState headline)
    {
        var (green, yellow, red) = Lights(headline);
        return new ConsoleOutput(headline, green, yellow, red, LightPattern.Off, headline switch
        {
            LightState.Fault => BuzzerPattern.Fault,
            LightState.Refer => BuzzerPattern.Refer,
            _ => BuzzerPattern.None,
        });
    }

    private static (LightPattern Green, LightPattern Yellow, LightPattern Red) Lights(LightState headline) => headline switch
    {
        LightState.Fault => (LightPattern.Off, LightPattern.Off, LightPattern.Blink2Hz),
        LightState.Refer => (LightPattern.Off, LightPattern.Off, LightPattern.Steady),
        LightState.Attention => (LightPattern.Off, LightPattern.Blink1Hz, LightPattern.Off),
        LightState.Screening => (LightPattern.Off, LightPattern.Steady, LightPattern.Off),
        _ => (LightPattern.Steady, LightPattern.Off, LightPattern.Off),
    };
}

/// <summary>Where a pattern is on or off at a moment since it started: shared by the GPIO adapter and its tests.</summary>
public static class PatternTiming
{
    public static bool IsOn(LightPattern pattern, TimeSpan sinceStart) => pattern switch
    {
        LightPattern.Steady => true,
        LightPattern.Blink1Hz => sinceStart.Ticks % TimeSpan.TicksPerSecond < TimeSpan.TicksPerSecond / 2,
        LightPattern.Blink2Hz => sinceStart.Ticks % (TimeSpan.TicksPerSecond / 2) < TimeSpan.TicksPerSecond / 4,
        _ => false,
    };

    /// <summary>
    /// Refer: two short beeps, repeated every 10 s until acknowledged (a reminder, not an alarm).
    /// Fault: three beeps every 2 s, the burst shape IEC 60601-1-8 uses for high priority, until cleared or silenced.
    /// </summary>
    public static bool IsOn(BuzzerPattern pattern, TimeSpan sinceStart)
    {
        var ms = pattern switch
        {
            BuzzerPattern.Refer => (long)sinceStart.TotalMilliseconds % 10_000,
            BuzzerPattern.Fault => (long)sinceStart.TotalMilliseconds % 2_000,
            _ => -1,
        };
        return pattern switch
        {
            BuzzerPattern.Refer => ms is < 150 or (>= 300 and < 450),
            BuzzerPattern.Fault => ms < 750 && ms % 250 < 150,
            _ => false,
        };
    }
}

/// <summary>Drives the console outputs; implementations: GPIO on the device (with a simulator driver elsewhere).</summary>
public interface IStatusLights
{
    /// <summary>Shows one headline state; used where only the headline is known.</summary>
    ValueTask ShowAsync(LightState state, CancellationToken cancellationToken);

    /// <summary>Shows every line and the buzzer. Indicators that show only the headline keep this default.</summary>
    ValueTask ShowAsync(ConsoleOutput output, CancellationToken cancellationToken) => ShowAsync(output.State, cancellationToken);
}

/// <summary>Slip language: English, or Chinese with English beside it (printed in GB18030).</summary>
public enum SlipLanguage
{
    English,
    Chinese,
}

public enum SlipTextSize
{
    Normal,

    /// <summary>Double height: 32 columns still fit.</summary>
    Tall,

    /// <summary>Double height and width: 16 columns.</summary>
    Large,
}

/// <summary>One element of a slip, in print order; the ESC/POS encoder, the text form and the preview render the same list.</summary>
public abstract record SlipBlock
{
    public sealed record Text(string Value, SlipTextSize Size = SlipTextSize.Normal, bool Bold = false, bool Centred = false, bool Inverted = false) : SlipBlock;

    public sealed record Rule : SlipBlock;

    /// <summary>The score against the threshold as a bar, both 0..1.</summary>
    public sealed record ScoreBar(double Score, double Threshold) : SlipBlock;

    public sealed record QrCode(string Data) : SlipBlock;

    /// <summary>
    /// A grayscale picture (row-major, 0 black .. 255 white) the printer shows dithered to its dots: the heatmap thumbnail,
    /// the image on the left and where the model looked on the right. At most the paper's width; centred.
    /// </summary>
    public sealed record Picture(int Width, int Height, byte[] Gray) : SlipBlock;
}

/// <summary>A printed triage slip for a 58 mm roll (32 columns of Font A; a Chinese character takes two).</summary>
public sealed record Slip(string ResultId, SlipLanguage Language, IReadOnlyList<SlipBlock> Blocks, bool Emphasise)
{
    /// <summary>The slip as plain text lines, as the simulator writes it beside the bytes.</summary>
    public IReadOnlyList<string> Lines => [.. Blocks.Select(SlipComposer.TextOf)];
}

/// <summary>Prints a slip; implementations: ESC/POS over a serial port or device file on the device, files in the simulator.</summary>
public interface ISlipPrinter
{
    ValueTask PrintAsync(Slip slip, CancellationToken cancellationToken);
}

/// <summary>What a site prints: its name, zone, language, and whether the local exam reference appears.</summary>
public sealed record SlipSettings(string SiteName, TimeZoneInfo TimeZone, SlipLanguage Language = SlipLanguage.English, bool ShowExamReference = false);

/// <summary>What goes on the slip: a pure function of the result and the site's settings.</summary>
public static class SlipComposer
{
    public const int Width = 32;

    /// <summary>Columns of the score bar in the text form; the printed bar is a raster the full paper width.</summary>
    private const int BarColumns = Width - 2;

    /// <param name="result">The recorded result.</param>
    /// <param name="settings">The site's slip settings.</param>
    /// <param name="thumbnail">The image beside where the model looked, for screened results whose image is at hand.</param>
    public static Slip Compose(ScreeningResult result, SlipSettings settings, SlipBlock.Picture? thumbnail = null)
    {
        var zh = settings.Language == SlipLanguage.Chinese;
        var local = TimeZoneInfo.ConvertTime(result.ScreenedAt, settings.TimeZone);
        var refer = result.Status == ScreeningStatus.Screened && result.Decision?.Referral == Referral.Refer;
        var blocks = new List<SlipBlock>
        {
            new SlipBlock.Text(zh ? "结核病AI筛查 TB SCREENING" : "TB SCREENING (AI)", Bold: true, Centred: true),
            new SlipBlock.Text(Truncate(settings.SiteName, Width), Centred: true),
            new SlipBlock.Rule(),
            new SlipBlock.Text((zh ? "时间 " : "Time: ") + local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
        };

        // The exam reference is PHI: only where the site chose to print it, and never anywhere but the slip.
        if (settings.ShowExamReference && (result.Identity.AccessionNumber ?? result.Identity.PatientId) is { Length: > 0 } reference)
        {
            blocks.Add(new SlipBlock.Text(Truncate((zh ? "检查号 " : "Ref:  ") + reference, Width)));
        }

        blocks.Add(new SlipBlock.Text((zh ? "编号 " : "ID:   ") + ShortId(result.Id)));
        blocks.Add(new SlipBlock.Rule());

        switch (result.Status)
        {
            case ScreeningStatus.Screened when result.Decision is { } decision && result.Probability is { } p:
                if (zh)
                {
                    blocks.Add(Headline(refer ? "建议查痰" : "未见结核征象", refer));
                }

                blocks.Add(Headline(refer ? "REFER TB TEST" : "NO TB SIGNS", refer));
                blocks.Add(new SlipBlock.Text(refer ? (zh ? "今日留痰送检 Sputum/Xpert" : "Sputum / Xpert today") : (zh ? "常规诊疗 Routine care" : "Routine care"), Centred: true));
                blocks.Add(new SlipBlock.Text(string.Create(CultureInfo.InvariantCulture, $"Score {p * 100:0.0} / threshold {decision.Threshold * 100:0.0}")));
                blocks.Add(new SlipBlock.ScoreBar(p, decision.Threshold));
                if (thumbnail is not null)
                {
                    blocks.Add(thumbnail);
                    if (zh)
                    {
                        blocks.Add(new SlipBlock.Text("左 胸片 | 右 AI关注区域", Centred: true));
                    }

                    blocks.Add(new SlipBlock.Text("Left: image | Right: AI focus", Centred: true));
                }

                break;
            case ScreeningStatus.Rejected:
                if (zh)
                {
                    blocks.Add(Headline("未筛查", false));
                }

                blocks.Add(Headline("NOT SCREENED", false));
                blocks.AddRange(result.Qc.Findings.Where(f => f.Severity == QcVerdict.Reject).SelectMany(f => Wrap(f.Message)).Select(l => new SlipBlock.Text(l)));
                blocks.AddRange(Wrap(zh ? "请重拍胸部正位片 Retake a PA chest image and send it again." : "Retake a PA chest image and send it again.").Select(l => new SlipBlock.Text(l)));
                break;
            default:
                if (zh)
                {
                    blocks.Add(Headline("未筛查", false));
                }

                blocks.Add(Headline("NOT SCREENED", false));
                blocks.AddRange(Wrap("Error: " + (result.Error ?? "unknown.")).Select(l => new SlipBlock.Text(l)));
                blocks.AddRange(Wrap(zh ? "请联系维护人员 Call the maintainer." : "Send the image again; if it fails, call the maintainer.").Select(l => new SlipBlock.Text(l)));
                break;
        }

        foreach (var warning in result.Qc.Findings.Where(f => f.Severity == QcVerdict.Warn))
        {
            blocks.AddRange(Wrap("Note: " + warning.Message).Select(l => new SlipBlock.Text(l)));
        }

        blocks.Add(new SlipBlock.QrCode(result.Id));
        blocks.Add(new SlipBlock.Rule());
        if (result.Model is { } model)
        {
            blocks.Add(new SlipBlock.Text(Truncate($"Model {model.Name} {model.Version}", Width)));
        }

        if (zh)
        {
            blocks.Add(new SlipBlock.Text("AI 辅助筛查，非诊断"));
        }

        blocks.Add(new SlipBlock.Text("AI triage aid, not a diagnosis."));
        return new Slip(result.Id, settings.Language, blocks, refer);
    }

    /// <summary>Columns a string takes on the printer: CJK and full-width characters take two.</summary>
    public static int Columns(string text) => text.EnumerateRunes().Sum(r => r.Value >= 0x1100 ? 2 : 1);

    /// <summary>One block as a line of plain text.</summary>
    public static string TextOf(SlipBlock block) => block switch
    {
        SlipBlock.Text t => t.Centred ? Centre(t.Value, Width) : t.Value,
        SlipBlock.Rule => new string('-', Width),
        SlipBlock.ScoreBar b => ScoreBarText(b),
        SlipBlock.QrCode q => $"[QR {ShortId(q.Data)}]",
        SlipBlock.Picture p => Centre($"[picture {p.Width}x{p.Height}]", Width),
        _ => "",
    };

    /// <summary>Filled to the score, with '|' at the threshold.</summary>
    private static string ScoreBarText(SlipBlock.ScoreBar bar)
    {
        var filled = (int)Math.Round(Math.Clamp(bar.Score, 0, 1) * BarColumns);
        var mark = Math.Min(BarColumns - 1, (int)Math.Round(Math.Clamp(bar.Threshold, 0, 1) * BarColumns));
        var cells = new StringBuilder(BarColumns);
        for (var i = 0; i < BarColumns; i++)
        {
            cells.Append(i == mark ? '|' : i < filled ? '#' : '.');
        }

        return "[" + cells + "]";
    }

    private static SlipBlock.Text Headline(string text, bool refer) => new(text, SlipTextSize.Large, Bold: true, Centred: true, Inverted: refer);

    private static string ShortId(string id) => id.Length > 12 ? id[^12..] : id;

    private static string Centre(string text, int width)
    {
        var pad = Math.Max(0, (width - Columns(text)) / 2);
        return new string(' ', pad) + text;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private static IEnumerable<string> Wrap(string text)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && Columns(line.ToString()) + 1 + Columns(word) > Width)
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
