using Edge.Domain;
using Edge.Imaging;
using Edge.Storage;

namespace Edge.Web.Tests;

/// <summary>Console, printer, images and device parts for page tests that need only the real record behind the page.</summary>
public sealed class QuietConsole : IConsoleView
{
    public int Acknowledgements { get; private set; }

    public ConsoleOutput Lights => ConsoleMachine.Output(State, ConsoleSettings.Default);

    public ConsoleState State { get; private set; } = ConsoleState.Initial;

    public event Action? Changed;

    public Task AcknowledgeAsync(CancellationToken cancellationToken)
    {
        Acknowledgements++;
        State = ConsoleMachine.Apply(State, new ConsoleEvent.Acknowledged());
        Changed?.Invoke();
        return Task.CompletedTask;
    }
}

public sealed class NoSlips : ISlipReprinter
{
    public ValueTask<ReprintOutcome> ReprintAsync(string resultId, CancellationToken cancellationToken) => ValueTask.FromResult(ReprintOutcome.NotAvailable);

    public byte[]? PreviewPng(string resultId) => null;
}

/// <summary>A plain gradient for every result: these tests are about the record, not the picture.</summary>
public sealed class GradientImages : IExamImages
{
    public ValueTask<Gray8Image?> DisplayAsync(string imagePath, int maxSide, CancellationToken cancellationToken)
    {
        var pixels = new byte[64 * 64];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i % 64 * 4);
        }

        return ValueTask.FromResult<Gray8Image?>(new Gray8Image(64, 64, pixels));
    }
}

public sealed class FixedDevice : IDeviceStatus
{
    public DeviceSnapshot Snapshot() => new("0.0.0-test", "tb-cxr", "test", "Cpu", 0.5, null, "simulator", Path.GetTempPath(), null, "EDGE", "none");
}

/// <summary>Screened results with chosen scores, written to the real record as the pipeline would.</summary>
public static class RecordedResults
{
    public static void AddScreened(ScreeningStore store, string id, double probability, DateTimeOffset at, double threshold = 0.5)
    {
        var image = new ReceivedImage(id, "/nonexistent/" + id, id + ".png", IntakeSource.File, at);
        store.Register(image, at);
        var result = new ScreeningResult
        {
            Id = id,
            OriginalName = image.OriginalName,
            Source = IntakeSource.File,
            ReceivedAt = at,
            ScreenedAt = at,
            Status = ScreeningStatus.Screened,
            Probability = probability,
            Decision = ThresholdPolicy.Decide(probability, threshold, null),
            Model = new ModelIdentity("tb-cxr", "test", "0"),
            ExecutionProvider = "Cpu",
            Qc = QcReport.Of([]),
        };
        store.Record(result, "{}", image.SpoolPath, null, at);
    }
}
