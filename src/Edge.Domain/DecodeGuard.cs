namespace Edge.Domain;

/// <summary>When to stop feeding a file to a decoder that keeps taking the appliance down with it.</summary>
public static class DecodeGuard
{
    /// <summary>Unfinished attempts (restarts after a crash mid-decode) before the file is rejected instead of decoded again.</summary>
    public const int MaxUnfinishedAttempts = 3;

    /// <returns>The rejection for a file whose decoding was cut short this many times, or null to decode it.</returns>
    public static QcFinding? Refuse(int unfinishedAttempts) => unfinishedAttempts >= MaxUnfinishedAttempts
        ? new QcFinding("decoder-crash", QcVerdict.Reject, $"The image decoder stopped the appliance {unfinishedAttempts} times on this file: it is kept but not decoded again. Send it to support.")
        : null;
}
