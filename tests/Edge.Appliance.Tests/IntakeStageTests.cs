using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>The poison-image guard: decode attempts noted in the real record, crashes simulated by attempts that never end.</summary>
public sealed class IntakeStageTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new("edge-intake-stage");

    [Fact]
    public async Task RunAsync_ThreeEarlierDecodesNeverEnded_RejectsAsDecoderCrashWithoutDecodingAgain()
    {
        var image = CrashedWhileDecoding(times: 3);
        using var store = Open();
        var reader = new CountingReader();

        var result = await new IntakeStage(reader, store, TimeProvider.System).RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);

        Assert.Equal(0, reader.Calls);
        Assert.Equal(ScreeningStatus.Rejected, result.Status);
        var finding = Assert.Single(result.Qc!.Findings);
        Assert.Equal(("decoder-crash", QcVerdict.Reject), (finding.Code, finding.Severity));
        Assert.Contains("3 times", finding.Message, StringComparison.Ordinal);
        Assert.Contains(store.Audit(image.Id), a => a.Action == "decoder-crash");
    }

    [Fact]
    public async Task RunAsync_TwoEarlierDecodesNeverEnded_DecodesAndForgetsThem()
    {
        var image = CrashedWhileDecoding(times: 2);
        using var store = Open();
        var reader = new CountingReader();

        var result = await new IntakeStage(reader, store, TimeProvider.System).RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);

        Assert.Equal(1, reader.Calls);
        Assert.Null(result.Status);
        Assert.NotNull(result.Image);
        Assert.Equal(0, store.BeginDecode(image.Id, Now));
    }

    [Fact]
    public async Task RunAsync_CutShortOnceAndCrashesWhenDecodedAlone_RejectsAsDecoderCrashWithoutDecodingHere()
    {
        var image = CrashedWhileDecoding(times: 1);
        using var store = Open();
        var reader = new CountingReader();
        var isolated = new FixedIsolatedDecode(survives: false);

        var result = await new IntakeStage(reader, store, TimeProvider.System, isolated).RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);

        Assert.Equal((0, 1), (reader.Calls, isolated.Calls));
        Assert.Equal("decoder-crash", Assert.Single(result.Qc!.Findings).Code);
        Assert.Equal(ScreeningStatus.Rejected, result.Status);
    }

    [Fact]
    public async Task RunAsync_CutShortByPowerCutsButDecodesAlone_DecodesHere()
    {
        // Three kills mid-decode look like three crashes to a counter; the isolated decode tells them apart.
        var image = CrashedWhileDecoding(times: 3);
        using var store = Open();
        var reader = new CountingReader();
        var isolated = new FixedIsolatedDecode(survives: true);

        var result = await new IntakeStage(reader, store, TimeProvider.System, isolated).RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);

        Assert.Equal((1, 1), (reader.Calls, isolated.Calls));
        Assert.NotNull(result.Image);
        Assert.Null(result.Status);
    }

    [Fact]
    public async Task RunAsync_NoEarlierAttempt_SkipsTheIsolatedDecode()
    {
        using var store = Open();
        var image = store.Register(Received(), Now);
        var isolated = new FixedIsolatedDecode(survives: false);

        var result = await new IntakeStage(new CountingReader(), store, TimeProvider.System, isolated).RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);

        Assert.Equal(0, isolated.Calls);
        Assert.NotNull(result.Image);
    }

    [Fact]
    public async Task RunAsync_DecoderRefusesTheFile_AttemptEndsSoItIsNotCountedAsACrash()
    {
        using var store = Open();
        var image = store.Register(Received(), Now);
        var stage = new IntakeStage(new CountingReader(fail: true), store, TimeProvider.System);

        for (var run = 0; run < 4; run++)
        {
            var result = await stage.RunAsync(new ScreeningCase { Received = image }, CancellationToken.None);
            Assert.Equal("unreadable", Assert.Single(result.Qc!.Findings).Code);
        }

        Assert.Equal(0, store.BeginDecode(image.Id, Now));
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Each "run" opens the record, starts decoding and dies before the end, as a native crash would.</summary>
    private ReceivedImage CrashedWhileDecoding(int times)
    {
        var image = Received();
        for (var run = 0; run < times; run++)
        {
            using var store = Open();
            store.Register(image, Now);
            Assert.Equal(run, store.BeginDecode(image.Id, Now.AddMinutes(run)));
        }

        return image;
    }

    private ScreeningStore Open() => ScreeningStore.Open(_temp.Combine("edge.db"));

    private static ReceivedImage Received() => new(new string('7', 32), "/nonexistent/poison.dcm", "poison.dcm", IntakeSource.DicomStore, Now);

    private sealed class FixedIsolatedDecode(bool survives) : IIsolatedDecode
    {
        public int Calls { get; private set; }

        public Task<bool?> SurvivesAsync(string path, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult<bool?>(survives);
        }
    }

    private sealed class CountingReader(bool fail = false) : IImageFileReader
    {
        public int Calls { get; private set; }

        public ValueTask<DecodedImage> ReadAsync(string path, CancellationToken cancellationToken)
        {
            Calls++;
            return fail
                ? throw new ImageReadException("Not a DICOM file (or the file is damaged).")
                : ValueTask.FromResult(new DecodedImage(new GrayImage(1, 1, [0f]), new ImageHeader { Format = ImageFormat.Dicom }, PatientIdentity.None));
        }
    }
}
