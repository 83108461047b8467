using Edge.Domain;

namespace Edge.Hardware;

/// <summary>
/// What the printer said about itself through DLE EOT. <see cref="Answered"/> is false for printers that never answer
/// (and for the ones whose answer was cut short): they are written to anyway, since nothing speaks against it.
/// </summary>
public sealed record PrinterStatus(bool Answered, bool Offline = false, bool CoverOpen = false, bool PaperOut = false, bool PaperLow = false, bool Error = false)
{
    public static PrinterStatus Unknown { get; } = new(false);

    public static PrinterStatus Ready { get; } = new(true);

    /// <summary>Paper low still prints: the near-end sensor leaves a metre or so, and the slip belongs with the patient now.</summary>
    public bool CanPrint => !(Offline || CoverOpen || PaperOut || Error);

    /// <summary>The attention conditions this status raises; the most specific cause only, since paper out also reads offline.</summary>
    public IReadOnlySet<string> Conditions
    {
        get
        {
            var conditions = new SortedSet<string>(StringComparer.Ordinal);
            if (PaperOut)
            {
                conditions.Add(ConsoleConditions.PrinterOutOfPaper);
            }
            else if (PaperLow)
            {
                conditions.Add(ConsoleConditions.PrinterPaperLow);
            }

            if (CoverOpen)
            {
                conditions.Add(ConsoleConditions.PrinterCoverOpen);
            }

            if ((Offline || Error) && !PaperOut && !CoverOpen)
            {
                conditions.Add(ConsoleConditions.PrinterOffline);
            }

            return conditions;
        }
    }

    public string Describe() => !Answered ? "no status answer"
        : Conditions.Count == 0 ? "ready"
        : string.Join(", ", Conditions) + (Error ? " (error)" : "");
}

/// <summary>
/// ESC/POS real-time status, DLE EOT n (10 04 n): one byte per request, shaped 0xx1xx10 so it cannot be mistaken for
/// another answer. n = 1 printer, 2 offline cause, 3 error cause, 4 paper roll sensor.
/// </summary>
public static class EscPosStatus
{
    public static readonly byte[] Requests = [1, 2, 3, 4];

    public static byte[] Request(byte n) => [0x10, 0x04, n];

    public static bool IsStatusByte(byte value) => (value & 0x93) == 0x12;

    /// <summary>Decodes the four answers, in request order.</summary>
    public static PrinterStatus Decode(byte printer, byte offlineCause, byte errorCause, byte paperSensor) => new(
        Answered: true,
        Offline: (printer & 0x08) != 0,
        CoverOpen: (offlineCause & 0x04) != 0,
        PaperOut: (offlineCause & 0x20) != 0 || (paperSensor & 0x60) != 0,
        PaperLow: (paperSensor & 0x0C) != 0,
        Error: (offlineCause & 0x40) != 0 || (errorCause & 0x68) != 0);

    /// <summary>The four answers a printer in this state gives; for simulators and tests.</summary>
    public static byte[] Encode(PrinterStatus status) =>
    [
        (byte)(0x12 | (status.Offline || status.CoverOpen || status.PaperOut || status.Error ? 0x08 : 0)),
        (byte)(0x12 | (status.CoverOpen ? 0x04 : 0) | (status.PaperOut ? 0x20 : 0) | (status.Error ? 0x40 : 0)),
        (byte)(0x12 | (status.Error ? 0x40 : 0)),
        (byte)(0x12 | (status.PaperLow ? 0x0C : 0) | (status.PaperOut ? 0x60 : 0)),
    ];
}
