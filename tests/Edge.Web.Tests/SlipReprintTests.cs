using Edge.Appliance;
using Edge.Domain;
using Edge.Hardware;
using Edge.Storage;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Web.Tests;

/// <summary>The page's reprint over the real print queue, with the record as journal and the simulated printer's folder.</summary>
public sealed class SlipReprintTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("edge-reprint");
    private ScreeningStore _store = null!;
    private FolderPrinterLink _printer = null!;
    private SlipPrintQueue _queue = null!;
    private QueuedSlipReprinter _slips = null!;

    public async Task InitializeAsync()
    {
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
        _printer = new FolderPrinterLink(_temp.Combine("printed"));
        var previews = _temp.Combine("previews");
        _queue = new SlipPrintQueue(_store, _printer, (_, _) => Task.CompletedTask, NullLogger.Instance, TimeProvider.System, new SlipPrintQueueOptions { PreviewDirectory = previews });
        _slips = new QueuedSlipReprinter(_queue, _store, previews);
        await _queue.SubmitAsync(SlipOf("older"), CancellationToken.None);
        await _queue.SubmitAsync(SlipOf("newer"), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _queue.DisposeAsync();
        _store.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Reprint_OlderThanTheLastSlip_PrintedAgainFromTheQueue()
    {
        File.Delete(_temp.Combine("printed", "older.escpos"));

        Assert.Equal(ReprintOutcome.Printed, await _slips.ReprintAsync("older", CancellationToken.None));

        Assert.True(File.Exists(_temp.Combine("printed", "older.escpos")));
        Assert.Equal(_store.LastPrintJob("older")!.Bytes, await File.ReadAllBytesAsync(_temp.Combine("printed", "older.escpos")));
        Assert.Equal(0, _store.CountPrintJobsPending());
    }

    [Fact]
    public async Task Reprint_NeverQueuedOrPrinterNotReady_NotAvailableOrKeptForThePrinter()
    {
        Assert.Equal(ReprintOutcome.NotAvailable, await _slips.ReprintAsync("never-printed", CancellationToken.None));

        _printer.Status = new PrinterStatus(true, PaperOut: true);
        Assert.Equal(ReprintOutcome.PrinterOffline, await _slips.ReprintAsync("older", CancellationToken.None));
        Assert.Single(_store.PendingPrintJobs(), j => j.ResultId == "older");
    }

    [Fact]
    public void PreviewPng_AnyQueuedSlip_ThePictureTheQueueWrote()
    {
        var png = _slips.PreviewPng("older");

        Assert.NotNull(png);
        Assert.Equal(File.ReadAllBytes(_temp.Combine("previews", "older.png")), png);
        Assert.Null(_slips.PreviewPng("never-printed"));
        Assert.Null(_slips.PreviewPng("../edge"));
    }

    private static Slip SlipOf(string id) => new(id, SlipLanguage.English, [new SlipBlock.Text("REFER TB TEST"), new SlipBlock.QrCode(id)], Emphasise: true);
}
