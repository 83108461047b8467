namespace Edge.Domain;

/// <summary>
/// When to stop feeding a file to a decoder that keeps taking the appliance down with it. A power cut or a kill while a
/// file is decoding leaves the same trace as a decoder crash, so where a child process can decode the file on its own,
/// that isolated decode decides; the count of cut-short attempts is the fallback where it cannot.
/// </summary>
public static class DecodeGuard
{
    /// <summary>Unfinished attempts (restarts after a crash mid-decode) before the file is rejected, without an isolated decode.</summary>
    public const int MaxUnfinishedAttempts = 3;

    /// <param name="unfinishedAttempts">Earlier decodes of this file that started and never ended.</param>
    /// <param name="survivedIsolatedDecode">How a decode in a child process ended: true returned, false crashed or hung, null not tried.</param>
    /// <returns>The rejection for the file, or null to decode it.</returns>
    public static QcFinding? Refuse(int unfinishedAttempts, bool? survivedIsolatedDecode = null) => survivedIsolatedDecode switch
    {
        true => null,
        false => new QcFinding("decoder-crash", QcVerdict.Reject, "The image decoder crashed on this file when it was decoded on its own, after it had stopped the appliance: it is kept but not decoded again. Send it to support."),
        null when unfinishedAttempts >= MaxUnfinishedAttempts => new QcFinding("decoder-crash", QcVerdict.Reject, $"The image decoder stopped the appliance {unfinishedAttempts} times on this file: it is kept but not decoded again. Send it to support."),
        null => null,
    };
}

/// <summary>Decodes a file away from the appliance's own process, so a decoder crash takes only the check down.</summary>
public interface IIsolatedDecode
{
    /// <returns>True when the decoder returned (decoded or refused the file), false when it crashed or hung, null when no check could run.</returns>
    Task<bool?> SurvivesAsync(string path, CancellationToken cancellationToken);
}
