using Edge.Domain;
using Edge.Hardware;
using Edge.Web;

namespace Edge.Appliance;

/// <summary>
/// The page's reprint over the slip print queue: any result whose slip was ever queued, not only the latest, from the
/// exact bytes the journal kept. The preview is the PNG the queue wrote when the slip was queued (the simulator; a real
/// printer keeps no previews, so there the page shows none).
/// </summary>
public sealed class QueuedSlipReprinter(SlipPrintQueue queue, IPrintJournal journal, string? previewDirectory) : ISlipReprinter
{
    public async ValueTask<ReprintOutcome> ReprintAsync(string resultId, CancellationToken cancellationToken)
    {
        if (!await queue.ReprintAsync(resultId, cancellationToken).ConfigureAwait(false))
        {
            return ReprintOutcome.NotAvailable;
        }

        // The queue tried at once; a job still pending is held for the printer (which raised the attention light).
        return journal.PendingPrintJobs().Any(j => j.ResultId == resultId) ? ReprintOutcome.PrinterOffline : ReprintOutcome.Printed;
    }

    public byte[]? PreviewPng(string resultId)
    {
        // Result ids are generated hex; anything else must not become a path.
        if (previewDirectory is null || resultId.Length == 0 || !resultId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return null;
        }

        try
        {
            return File.ReadAllBytes(Path.Combine(previewDirectory, resultId + ".png"));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
