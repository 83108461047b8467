namespace Edge.Domain;

/// <summary>A slip waiting for the printer, as the exact bytes it gets; <see cref="Sequence"/> orders the queue.</summary>
public sealed record PrintJob(long Sequence, string ResultId, byte[] Bytes, bool Reprint, int Attempts);

/// <summary>
/// Where print jobs are kept until the printer has them: recorded before printing, marked printed only once the bytes are
/// out and the printer said nothing against it, so a stop, a jam or an empty roll loses no slip. Implemented by the record.
/// </summary>
public interface IPrintJournal
{
    /// <summary>Records a job; returns its sequence.</summary>
    long EnqueuePrintJob(string resultId, byte[] bytes, bool reprint, DateTimeOffset now);

    /// <summary>Jobs not yet printed, oldest first.</summary>
    IReadOnlyList<PrintJob> PendingPrintJobs();

    /// <summary>Counts an attempt before the bytes go out, so a crash mid-print is still counted.</summary>
    void CountPrintAttempt(long sequence);

    void MarkPrinted(long sequence, DateTimeOffset now);

    /// <summary>
    /// The newest job for a result, printed or not; with no result, the newest first printing of any result (the slip of
    /// the latest image, not whatever was reprinted last). Null when there is none.
    /// </summary>
    PrintJob? LastPrintJob(string? resultId);
}
