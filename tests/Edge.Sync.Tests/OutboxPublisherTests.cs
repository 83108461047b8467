using System.Text.Json;
using Edge.Domain;
using Edge.Storage;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

public sealed class OutboxPublisherTests : IAsyncLifetime
{
    private const string Site = "site-a";
    private const string Device = "dev-1";
    private const string StatusTopic = "tb/v1/site-a/dev-1/status";
    private static readonly DeviceStatusInfo Info = new("1.2.3", "tb-cxr", "2.0.0", "Cpu");
    private readonly TempDirectory _temp = new("edge-sync");
    private readonly ScreeningStore _store;
    private readonly TestLogger _logger = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<SyncState> _states = [];
    private readonly List<Task> _runs = [];

    public OutboxPublisherTests()
    {
        _store = ScreeningStore.Open(_temp.Combine("edge.db"));
    }

    [Fact]
    public async Task Run_BrokerUp_DeliversEveryRowOnceOldestFirstAndMarksSent()
    {
        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);
        var ids = Enqueue(25);

        var (publisher, run) = Start(broker.Port);
        await subscriber.WaitForAsync(r => Results(r).Count >= ids.Count);
        await WaitForStateAsync(publisher, SyncState.Synced);

        Assert.Equal(ids, Results(subscriber.Received));
        Assert.All(subscriber.Received.Where(r => r.Topic.EndsWith("/result", StringComparison.Ordinal)), r => Assert.Equal("tb/v1/site-a/dev-1/result", r.Topic));
        Assert.Equal(0, _store.CountOutboxPending());
        Assert.Equal(ids.Count, _store.Audit().Count(a => a.Action == "synced"));
        await StopAsync(run);
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_BrokerDownAtFirst_ReconnectsAndDeliversEachOnce()
    {
        await using var broker = new Mosquitto();
        var ids = Enqueue(20);
        var firstFailure = _logger.WaitForAsync(m => m.Contains("not reachable", StringComparison.Ordinal));

        var (publisher, run) = Start(broker.Port);
        await firstFailure;
        Assert.Equal(SyncState.Offline, publisher.State);
        await broker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);
        await subscriber.WaitForAsync(r => Results(r).Count >= ids.Count);
        await WaitForStateAsync(publisher, SyncState.Synced);

        Assert.Equal(ids, Results(subscriber.Received));
        Assert.Equal(0, _store.CountOutboxPending());
        Assert.Contains(SyncState.Backlog, _states);
        await StopAsync(run);
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_BrokerKilledMidDrainAndRestarted_EveryRowSentAndEachIdArrives()
    {
        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);
        var ids = Enqueue(150);

        var (publisher, run) = Start(broker.Port, messagesPerSecond: 100);
        await subscriber.WaitForAsync(r => Results(r).Count >= 30);
        var offline = WaitForStateAsync(publisher, SyncState.Offline);
        await broker.KillAsync();
        await offline;
        Assert.True(_store.CountOutboxPending() > 0, "the kill should land mid-drain");

        // The publisher's first retry comes at least MinReconnectDelay/2 (6 s) later: the subscriber is back well before.
        await broker.StartAsync();
        await subscriber.ConnectAsync(broker.Port);
        await subscriber.WaitForAsync(r => ids.All(Results(r).Contains));
        await WaitForStateAsync(publisher, SyncState.Synced);

        Assert.Equal(0, _store.CountOutboxPending());
        var received = Results(subscriber.Received);
        Assert.All(ids, id => Assert.Contains(id, received));

        // A duplicate is possible only for the message in flight when the broker died (its PUBACK lost).
        Assert.True(received.Count - ids.Count <= 1, $"{received.Count - ids.Count} duplicates");
        await StopAsync(run);
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_ConnectAndLinkCut_RetainedBirthThenOfflineWill()
    {
        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var link = new TcpCutter(broker.Port);
        Enqueue(3);

        var (publisher, run) = Start(link.Port);
        await WaitForStateAsync(publisher, SyncState.Synced);

        // Subscribing after the fact: only a retained message can be seen.
        await using var late = new Subscriber();
        await late.ConnectAsync(broker.Port, StatusTopic);
        await late.WaitForAsync(r => r.Count >= 1);
        var birth = late.Received[0];
        Assert.True(birth.Retained);
        using (var json = JsonDocument.Parse(birth.Payload))
        {
            Assert.Equal("online", json.RootElement.GetProperty("state").GetString());
            Assert.Equal("1.2.3", json.RootElement.GetProperty("firmware").GetString());
            Assert.Equal("2.0.0", json.RootElement.GetProperty("modelVersion").GetString());
            Assert.Equal("Cpu", json.RootElement.GetProperty("provider").GetString());
            Assert.Equal(3, json.RootElement.GetProperty("backlog").GetInt64());
        }

        var lost = WaitForStateAsync(publisher, SyncState.Offline);
        link.CutAll();
        await late.WaitForAsync(r => r.Any(m => m.Payload.Contains("\"offline\"", StringComparison.Ordinal)));
        await lost;

        // The will is retained too: a collector that starts now still learns the device is offline.
        await using var later = new Subscriber();
        await later.ConnectAsync(broker.Port, StatusTopic);
        await later.WaitForAsync(r => r.Count >= 1);
        Assert.True(later.Received[0].Retained);
        Assert.Contains("\"offline\"", later.Received[0].Payload, StringComparison.Ordinal);
        await StopAsync(run);
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_EmbeddedBroker_DeliversAndSaysOfflineOnStop()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);
        var ids = Enqueue(10);

        var (publisher, run) = Start(broker.Port);
        await subscriber.WaitForAsync(r => Results(r).Count >= ids.Count);
        await WaitForStateAsync(publisher, SyncState.Synced);
        Assert.Equal(ids, Results(subscriber.Received));

        // A row queued while synced goes out on Wake, not at the next poll.
        _store.EnqueueOutbox(new OutboxMessage("late", "tb/v1/site-a/dev-1/result", """{"id":"late"}"""), DateTimeOffset.UtcNow);
        publisher.Wake();
        await subscriber.WaitForAsync(r => Results(r).Contains("late"));

        await StopAsync(run);
        await subscriber.WaitForAsync(r => r.Any(m => m.Topic == StatusTopic && m.Payload.Contains("\"offline\"", StringComparison.Ordinal)));
        Assert.Equal(0, _store.CountOutboxPending());
        _logger.AssertNoErrors();
    }

    [Fact]
    public async Task Run_ResultRecordedWhileSynced_PublishedWithoutWaitingForThePoll()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var subscriber = new Subscriber();
        await subscriber.ConnectAsync(broker.Port);

        // A poll far longer than the test's own wait limits: only the store's signal can bring the result out in time.
        var (publisher, run) = Start(broker.Port, pollInterval: TimeSpan.FromHours(1));
        await WaitForStateAsync(publisher, SyncState.Synced);
        var at = DateTimeOffset.UtcNow;
        _store.Register(new ReceivedImage("recorded", "/spool/recorded", "recorded.dcm", IntakeSource.File, at), at);
        var result = new ScreeningResult
        {
            Id = "recorded",
            OriginalName = "recorded.dcm",
            Source = IntakeSource.File,
            ReceivedAt = at,
            ScreenedAt = at,
            Status = ScreeningStatus.Rejected,
            Qc = QcReport.NotChecked,
        };

        Assert.True(_store.Record(result, "{}", "/archive/recorded", new OutboxMessage("recorded", $"tb/v1/{Site}/{Device}/result", """{"id":"recorded"}"""), at));

        await subscriber.WaitForAsync(r => Results(r).Contains("recorded"));
        await WaitForStateAsync(publisher, SyncState.Synced);
        Assert.Equal(0, _store.CountOutboxPending());
        await StopAsync(run);
        _logger.AssertNoErrors();
    }

    [Theory]
    [InlineData(0, 0.0, 500)]
    [InlineData(0, 0.999999, 1000)]
    [InlineData(3, 0.0, 4000)]
    [InlineData(10, 0.0, 30000)]
    [InlineData(10, 0.999999, 60000)]
    public void Delay_Attempt_DoublesWithJitterUpToMax(int attempt, double random, int expectedMs)
    {
        var delay = ReconnectBackoff.Delay(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), random);

        Assert.Equal(expectedMs, delay.TotalMilliseconds, precision: 0);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsSyncException()
    {
        var options = new OutboxPublisherOptions { Host = "", Port = 0, Site = "a/b", Device = "d" };

        var ex = Assert.Throws<SyncException>(() => new OutboxPublisher(_store, options, Info, _logger));

        Assert.Contains("Host", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Site", ex.Message, StringComparison.Ordinal);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();

        // A publisher still draining would reopen the record after it is closed and leave the folder behind.
        await Task.WhenAll(_runs).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
        _store.Dispose();
        _temp.Dispose();
    }

    private static List<string> Results(IReadOnlyList<Received> received) =>
        [.. received.Where(r => r.Topic.EndsWith("/result", StringComparison.Ordinal)).Select(r => r.Id!)];

    private List<string> Enqueue(int count)
    {
        var ids = Enumerable.Range(1, count).Select(i => $"m-{i:0000}").ToList();
        foreach (var id in ids)
        {
            _store.EnqueueOutbox(new OutboxMessage(id, $"tb/v1/{Site}/{Device}/result", $$"""{"id":"{{id}}","site":"{{Site}}"}"""), DateTimeOffset.UtcNow);
        }

        return ids;
    }

    /// <summary>
    /// The reconnect tests need the test's subscriber back on a restarted broker before the publisher's first retry, which
    /// comes at least half the minimum delay later: 12 s leaves 6 s, ample even with both cores busy.
    /// </summary>
    private static readonly TimeSpan ReconnectDelayForTests = TimeSpan.FromSeconds(12);

    private (OutboxPublisher Publisher, Task Run) Start(int port, int messagesPerSecond = 1000, TimeSpan? pollInterval = null)
    {
        var options = new OutboxPublisherOptions
        {
            Host = "127.0.0.1",
            Port = port,
            Site = Site,
            Device = Device,
            MaxMessagesPerSecond = messagesPerSecond,
            BatchSize = 16,
            MinReconnectDelay = ReconnectDelayForTests,
            MaxReconnectDelay = ReconnectDelayForTests * 2,
            PollInterval = pollInterval ?? TimeSpan.FromSeconds(2),
        };
        var publisher = new OutboxPublisher(_store, options, Info, _logger);
        publisher.StateChanged += s =>
        {
            lock (_states)
            {
                _states.Add(s);
            }
        };
        var run = Task.Run(() => publisher.RunAsync(_stop.Token));
        _runs.Add(run);
        return (publisher, run);
    }

    private static async Task WaitForStateAsync(OutboxPublisher publisher, SyncState state)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChange(SyncState s)
        {
            if (s == state)
            {
                reached.TrySetResult();
            }
        }

        publisher.StateChanged += OnChange;
        try
        {
            if (publisher.State != state)
            {
                await reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }
        }
        finally
        {
            publisher.StateChanged -= OnChange;
        }
    }

    private async Task StopAsync(Task run)
    {
        await _stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
