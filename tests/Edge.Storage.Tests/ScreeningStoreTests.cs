using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Storage.Tests;

public sealed class ScreeningStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new("edge-store");

    [Fact]
    public void Record_SameImageTwice_KeepsOneResultOneOutboxMessage()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var image = store.Register(Received("a"), Now);

        Assert.True(store.Record(Result(image), "{}", "archive/a", Outbox(image), Now));
        Assert.False(store.Record(Result(image), "{}", "archive/a", Outbox(image), Now));

        Assert.Equal(1, store.CountResults());
        Assert.Equal(1, store.CountOutbox());
        Assert.Equal(["received", "screened"], store.Audit(image.Id).Select(a => a.Action));
    }

    [Fact]
    public void Record_OutboxWriteFails_ResultIsNotCommittedEither()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var first = store.Register(Received("a"), Now);
        var second = store.Register(Received("b"), Now);
        store.Record(Result(first), "{}", "archive/a", Outbox(first), Now);

        // Reusing the first message id violates the outbox key inside the transaction.
        Assert.Throws<StorageException>(() => store.Record(Result(second), "{}", "archive/b", Outbox(first), Now));

        Assert.False(store.HasResult(second.Id));
        Assert.Equal(1, store.CountOutbox());
        Assert.DoesNotContain(store.Audit(second.Id), a => a.Action == "screened");
    }

    [Fact]
    public void Register_SameIdAgain_KeepsTheFirstRegistration()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        store.Register(Received("a") with { OriginalName = "console.dcm", Source = IntakeSource.DicomStore }, Now);

        var again = store.Register(Received("a") with { OriginalName = "recovered", Source = IntakeSource.File }, Now.AddMinutes(5));

        Assert.Equal(("console.dcm", IntakeSource.DicomStore, Now), (again.OriginalName, again.Source, again.ReceivedAt));
        Assert.Single(store.Audit(again.Id));
    }

    [Fact]
    public void Open_AfterReopen_KeepsResultsAndKnowsWhichWereNotActed()
    {
        var path = _temp.Combine("edge.db");
        using (var store = ScreeningStore.Open(path))
        {
            var a = store.Register(Received("a"), Now);
            var b = store.Register(Received("b"), Now);
            store.Record(Result(a), "{}", "archive/a", Outbox(a), Now);
            store.Record(Result(b), "{}", "archive/b", Outbox(b), Now);
            store.MarkActed(a.Id, [("printed", "slip")], Now);
        }

        using var reopened = ScreeningStore.Open(path);

        Assert.Equal(2, reopened.CountResults());
        Assert.Equal([Id("b")], reopened.UnactedResultIds());
        Assert.Equal("ok", reopened.Check());
        Assert.Equal("Refer", reopened.FindResult(Id("a"))?.Referral);
    }

    [Fact]
    public void EnqueueDicomSends_Twice_QueuesEachFileOncePerDestination()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));

        store.EnqueueDicomSends("r1", ["a.sr.dcm", "a.sc.dcm"], ["PACS@10.0.0.5:104", "CONSOLE@10.0.0.6:104"], Now);
        store.EnqueueDicomSends("r1", ["a.sr.dcm", "a.sc.dcm"], ["PACS@10.0.0.5:104", "CONSOLE@10.0.0.6:104"], Now);

        Assert.Equal(4, store.CountDicomSendsPending());
        Assert.Equal(4, store.DueDicomSends(Now, 10).Count);
    }

    [Fact]
    public void MarkDicomSendFailed_UntilItsNextAttempt_IsNotDueThenIs()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        store.EnqueueDicomSends("r1", ["a.sr.dcm"], ["PACS@h:104"], Now);
        var send = Assert.Single(store.DueDicomSends(Now, 10));

        store.MarkDicomSendFailed(send, "connection refused", Now.AddSeconds(30));

        Assert.Empty(store.DueDicomSends(Now.AddSeconds(29), 10));
        var retry = Assert.Single(store.DueDicomSends(Now.AddSeconds(30), 10));
        Assert.Equal(1, retry.Attempts);
        store.MarkDicomSent(retry, Now.AddSeconds(31));
        Assert.Equal(0, store.CountDicomSendsPending());
        Assert.Contains(store.Audit("r1"), a => a.Action == "dicom-sent");
    }

    // A series result lists its images in its line; until that commit, and for results older than the image, none is in it.
    [Fact]
    public void IsInRecordedSeries_ImagesListedByASeriesResult_FoundOnlyThoseAndOnlySinceTheyArrived()
    {
        using var store = ScreeningStore.Open(_temp.Combine("edge.db"));
        var first = store.Register(Received("a"), Now);
        var second = store.Register(Received("b"), Now);
        var alone = store.Register(Received("c"), Now);
        Assert.False(store.IsInRecordedSeries(second.Id, Now));

        var line = $$$"""{"id":"{{{first.Id}}}","series":{"modality":"CT","images":2,"imageIds":["{{{first.Id}}}","{{{second.Id}}}"]}}""";
        store.Record(Result(first) with { Status = ScreeningStatus.Rejected }, line, "archive/a", null, Now);
        store.Record(Result(alone), $$"""{"id":"{{alone.Id}}","series":null}""", "archive/c", null, Now);

        Assert.True(store.IsInRecordedSeries(first.Id, Now));
        Assert.True(store.IsInRecordedSeries(second.Id, Now));
        Assert.False(store.IsInRecordedSeries(alone.Id, Now));
        Assert.False(store.IsInRecordedSeries(Id("d"), Now));
        Assert.False(store.IsInRecordedSeries(second.Id, Now.AddSeconds(1)));
    }

    public void Dispose() => _temp.Dispose();

    private static string Id(string suffix) => suffix.PadLeft(32, '0');

    private static ReceivedImage Received(string suffix) => new(Id(suffix), "spool/" + suffix, suffix + ".dcm", IntakeSource.File, Now);

    private static OutboxMessage Outbox(ReceivedImage image) => new(image.Id, "tb/v1/site/device/result", "{\"id\":\"" + image.Id + "\"}");

    private static ScreeningResult Result(ReceivedImage image) => new()
    {
        Id = image.Id,
        OriginalName = image.OriginalName,
        Source = image.Source,
        ReceivedAt = image.ReceivedAt,
        ScreenedAt = Now,
        Status = ScreeningStatus.Screened,
        Probability = 0.8,
        Decision = new Decision(Referral.Refer, 0.4, ThresholdSource.Bundle),
        Model = new ModelIdentity("tb-cxr", "1.0.0", new string('a', 64)),
        Qc = QcReport.Of([]),
        Heatmap = [0, 1, 2, 3],
        HeatmapWidth = 2,
        HeatmapHeight = 2,
    };
}
