using Edge.Domain;
using Edge.Storage;
using Microsoft.Extensions.Logging;
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

    [Theory]
    [InlineData(1, 6, 2)]
    [InlineData(2, 6, 3)]
    [InlineData(4, 6, 5)]
    [InlineData(16, 6, 6)]
    [InlineData(1, 1, 2)]
    public void InFlightLimit_Cores_OneMoreThanCoresAtLeastTwoAtMostOnePerStage(int cores, int stages, int expected)
    {
        Assert.Equal(expected, ScreeningPipeline.InFlightLimit(cores, stages));
    }

    [Fact]
    public async Task Submit_LimitReached_WaitsUntilACaseLeavesTheLastStage()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new Step("a", gate: gate.Task);
        await using var pipeline = new ScreeningPipeline([held, new Step("b")], new ConsoleIndicator(new RecordingLights()), NullLogger.Instance, inFlightLimit: 1);
        await pipeline.SubmitAsync(Image("1"), CancellationToken.None);
        await held.Entered.WaitAsync(HangGuard);

        // The first channel has room, so only the limit can hold the second image back while the first is in stage a.
        var second = pipeline.SubmitAsync(Image("2"), CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);

        gate.SetResult();
        await second.WaitAsync(HangGuard);
        pipeline.CompleteInput();
        var done = await ReadAllAsync(pipeline);
        Assert.Equal(["1", "2"], done.Select(c => c.Received.Id));
    }

    [Fact]
    public async Task Submit_CasesSettledEarlyOrNotStored_FreeTheirPlace()
    {
        await using var pipeline = new ScreeningPipeline([new Step("quality", settles: true), new Step("infer"), new Step("record", alwaysRuns: true, storageFailureFor: "2"), new Step("act")], new ConsoleIndicator(new RecordingLights()), NullLogger.Instance, inFlightLimit: 1);

        var done = await RunAsync(pipeline, "1", "2", "3").WaitAsync(HangGuard);

        Assert.Equal(["1", "3"], done.Select(c => c.Received.Id));
        Assert.All(done, c => Assert.Equal(["quality", "record"], c.Timings.Select(t => t.Stage)));
    }

    [Fact]
    public async Task Submit_StageFailsNamingTheSpooledFile_LogAndErrorNameNeitherFileNorPatient()
    {
        // The spool keeps a watched file's original name, which a console or USB export may have made of the patient's.
        var logs = new ListLogger();
        await using var pipeline = new ScreeningPipeline([new Step("intake", throwFor: "1", failure: item => new IOException($"Input/output error : '{item.Received.SpoolPath}'")), new Step("record", alwaysRuns: true)], new ConsoleIndicator(new RecordingLights()), logs);
        await pipeline.SubmitAsync(new ReceivedImage("1", "/data/spool/1~Zwane_Thandeka_19410219.dcm", "Zwane_Thandeka_19410219.dcm", IntakeSource.WatchFolder, DateTimeOffset.UnixEpoch), CancellationToken.None);
        pipeline.CompleteInput();

        var failed = Assert.Single(await ReadAllAsync(pipeline));

        Assert.Equal(ScreeningStatus.Error, failed.Status);
        Assert.StartsWith("intake failed: Input/output error", failed.Error, StringComparison.Ordinal);
        var logged = Assert.Single(logs.Lines);
        Assert.Contains("Input/output error", logged, StringComparison.Ordinal);
        Assert.All(new[] { "Zwane", "Thandeka", "19410219", "/data/spool" }, part => Assert.All(new[] { failed.Error!, logged }, text => Assert.DoesNotContain(part, text, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Submit_ParallelStage_WorksOnSeveralCasesAtOnceAndHandsThemOnInOrder()
    {
        // Case 1 cannot finish until case 2 has entered the stage (in whichever order the two start): only a stage that
        // takes a second case while the first is still in it gets past this.
        var stage = new ParallelStep(parallelism: 2, held: "1", releasedBy: "2");
        await using var pipeline = new ScreeningPipeline([new Step("a"), stage, new Step("c")], new ConsoleIndicator(new RecordingLights()), NullLogger.Instance, inFlightLimit: 8);

        var done = await RunAsync(pipeline, "1", "2", "3", "4").WaitAsync(HangGuard);

        Assert.Equal(["1", "2", "3", "4"], done.Select(c => c.Received.Id));
        Assert.All(done, c => Assert.Equal(["a", "parallel", "c"], c.Timings.Select(t => t.Stage)));

        // Case 2 kept its slot until case 1 was handed on, so 3 and 4 never made it three at once.
        Assert.InRange(stage.MostInside, 1, 2);
    }

    [Fact]
    public async Task Submit_ParallelStageCannotStore_CaseStaysOutOthersGoOnInOrder()
    {
        var lights = new RecordingLights();
        await using var pipeline = new ScreeningPipeline([new ParallelStep(parallelism: 2, storageFailureFor: "2"), new Step("act", alwaysRuns: true)], new ConsoleIndicator(lights), NullLogger.Instance, inFlightLimit: 2);

        var done = await RunAsync(pipeline, "1", "2", "3", "4").WaitAsync(HangGuard);

        Assert.Equal(["1", "3", "4"], done.Select(c => c.Received.Id));
        Assert.Contains(LightState.Fault, lights.Shown);
    }

    /// <summary>Only so a broken limit fails the test instead of hanging the suite; never reached when it works.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static ReceivedImage Image(string id) => new(id, id, id + ".dcm", IntakeSource.File, DateTimeOffset.UnixEpoch);

    private static async Task<List<ScreeningCase>> ReadAllAsync(ScreeningPipeline pipeline)
    {
        var done = new List<ScreeningCase>();
        await foreach (var item in pipeline.Completed.ReadAllAsync())
        {
            done.Add(item);
        }

        return done;
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

    /// <summary>Every line logged, formatted.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
            }
        }
    }

    private sealed class Step(string name, bool settles = false, bool alwaysRuns = false, string? throwFor = null, string? storageFailureFor = null, Task? gate = null, Func<ScreeningCase, Exception>? failure = null) : IStage
    {
        public string Name => name;

        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool RunsWhenSettled => alwaysRuns;

        /// <summary>Completes when the stage has taken its first case.</summary>
        public Task Entered => _entered.Task;

        public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }

            if (item.Received.Id == throwFor)
            {
                throw failure?.Invoke(item) ?? new InvalidOperationException("boom");
            }

            if (item.Received.Id == storageFailureFor)
            {
                throw new StorageException("disk gone");
            }

            return settles ? item with { Status = ScreeningStatus.Screened } : item;
        }
    }

    /// <summary>A stage that may run several cases at once and counts how many it held at the same time.</summary>
    private sealed class ParallelStep(int parallelism, string? held = null, string? releasedBy = null, string? storageFailureFor = null) : IStage
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inside;
        private int _mostInside;

        public string Name => "parallel";

        public int Parallelism => parallelism;

        public int MostInside => Volatile.Read(ref _mostInside);

        public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
        {
            var inside = Interlocked.Increment(ref _inside);
            for (var most = Volatile.Read(ref _mostInside); inside > most; most = Volatile.Read(ref _mostInside))
            {
                Interlocked.CompareExchange(ref _mostInside, inside, most);
            }

            try
            {
                if (item.Received.Id == releasedBy)
                {
                    _released.TrySetResult();
                }

                if (item.Received.Id == held)
                {
                    await _released.Task.WaitAsync(cancellationToken);
                }

                if (item.Received.Id == storageFailureFor)
                {
                    throw new StorageException("disk gone");
                }

                await Task.Yield();
                return item;
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
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
