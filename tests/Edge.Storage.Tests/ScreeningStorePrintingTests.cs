using Edge.TestSupport;

namespace Edge.Storage.Tests;

public sealed class ScreeningStorePrintingTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new("edge-print-store");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void EnqueuePrintJob_StoreReopened_JobStillPendingWithItsBytes()
    {
        using (var store = ScreeningStore.Open(_temp.Combine("edge.db")))
        {
            store.EnqueuePrintJob("a", [1, 2, 3], reprint: false, Now);
            store.CountPrintAttempt(store.PendingPrintJobs()[0].Sequence);
        }

        using var reopened = ScreeningStore.Open(_temp.Combine("edge.db"));
        var job = Assert.Single(reopened.PendingPrintJobs());

        Assert.Equal(("a", false, 1), (job.ResultId, job.Reprint, job.Attempts));
        Assert.Equal([1, 2, 3], job.Bytes);
    }

    [Fact]
    public void MarkPrinted_Twice_LeavesTheQueueAndAuditsOnce()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var first = store.EnqueuePrintJob("a", [1], reprint: false, Now);
        var second = store.EnqueuePrintJob("b", [2], reprint: false, Now);

        store.MarkPrinted(first, Now);
        store.MarkPrinted(first, Now);

        Assert.Equal([second], store.PendingPrintJobs().Select(j => j.Sequence));
        Assert.Single(store.Audit("a"), a => a.Action == "slip-printed");
    }

    [Fact]
    public void LastPrintJob_AfterAReprint_NewestFirstPrintingForAnyResultNewestJobForOne()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        store.EnqueuePrintJob("a", [1], reprint: false, Now);
        store.EnqueuePrintJob("b", [2], reprint: false, Now);
        var reprint = store.EnqueuePrintJob("a", [1], reprint: true, Now);

        Assert.Equal("b", store.LastPrintJob(null)?.ResultId);
        Assert.Equal(reprint, store.LastPrintJob("a")?.Sequence);
        Assert.Null(store.LastPrintJob("c"));
        Assert.Contains(store.Audit("a"), a => a.Action == "reprint-requested");
    }
}
