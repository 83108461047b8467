using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Appliance.Tests;

public sealed class ScreeningPipelineTests
{
    [Fact]
    public async Task Submit_SeveralImages_LeaveInOrderWithEveryStageTimed()
    {
        var lights = new RecordingLights();
        await using var pipeline = new ScreeningPipeline([new Step("a"), new Step("b"), new Step("c", settles: true)], new ConsoleIndicator(lights), NullLogger.Instance);

        var done = await RunAsync(pipeline, "1", "2", "3");

        Assert.Equal(["1", "2", "3"], done.Select(c => c.Received.Id));
        Assert.All(done, c => Assert.Equal(["a", "b", "c"], c.Timings.Select(t => t.Stage)));
        Assert.Equal(LightState.Screening, lights.Shown[0]);
    }

    [Fact]
    public async Task Submit_StageThrows_CaseFailsWithTheStageAndLaterComputeStagesAreSkipped()
    {
        await using var pipeline = new ScreeningPipeline([new Step("infer", throwFor: "2"), new Step("decide"), new Step("record", alwaysRuns: true)], new ConsoleIndicator(new RecordingLights()), NullLogger.Instance);

        var done = await RunAsync(pipeline, "1", "2");

        var failed = done.Single(c => c.Received.Id == "2");
        Assert.Equal(ScreeningStatus.Error, failed.Status);
        Assert.StartsWith("infer failed: ", failed.Error, StringComparison.Ordinal);
        Assert.Equal(["infer", "record"], failed.Timings.Select(t => t.Stage));
        Assert.Equal(["infer", "decide", "record"], done.Single(c => c.Received.Id == "1").Timings.Select(t => t.Stage));
    }

    [Fact]
    public async Task Submit_RecordCannotStore_CaseStaysOutAndFaultLightShows()
    {
        var lights = new RecordingLights();
        await using var pipeline = new ScreeningPipeline([new Step("record", alwaysRuns: true, storageFailureFor: "1")], new ConsoleIndicator(lights), NullLogger.Instance);

        var done = await RunAsync(pipeline, "1", "2");

        Assert.Equal(["2"], done.Select(c => c.Received.Id));
        Assert.Contains(LightState.Fault, lights.Shown);
    }

    private static async Task<List<ScreeningCase>> RunAsync(ScreeningPipeline pipeline, params string[] ids)
    {
        foreach (var id in ids)
        {
            await pipeline.SubmitAsync(new ReceivedImage(id, id, id + ".dcm", IntakeSource.File, DateTimeOffset.UnixEpoch), CancellationToken.None);
        }

        pipeline.CompleteInput();
        var done = new List<ScreeningCase>();
        await foreach (var item in pipeline.Completed.ReadAllAsync())
        {
            done.Add(item);
        }

        return done;
    }

    private sealed class Step(string name, bool settles = false, bool alwaysRuns = false, string? throwFor = null, string? storageFailureFor = null) : IStage
    {
        public string Name => name;

        public bool RunsWhenSettled => alwaysRuns;

        public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
        {
            if (item.Received.Id == throwFor)
            {
                throw new InvalidOperationException("boom");
            }

            if (item.Received.Id == storageFailureFor)
            {
                throw new StorageException("disk gone");
            }

            return ValueTask.FromResult(settles ? item with { Status = ScreeningStatus.Screened } : item);
        }
    }

    private sealed class RecordingLights : IStatusLights
    {
        public List<LightState> Shown { get; } = [];

        public ValueTask ShowAsync(LightState state, CancellationToken cancellationToken)
        {
            lock (Shown)
            {
                Shown.Add(state);
            }

            return ValueTask.CompletedTask;
        }
    }
}
