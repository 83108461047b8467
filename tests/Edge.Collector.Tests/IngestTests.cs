using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Collector.Tests;

/// <summary>The collector against a real Mosquitto on loopback, with devices publishing as appliances do.</summary>
[Collection("postgres")]
public sealed class IngestTests(PostgresFixture postgres) : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("edge-collector");
    private readonly TestLoggers _loggers = new();
    private readonly MosquittoBroker _broker = new();

    /// <summary>Early in the current month, so every result falls in one month whatever day the test runs.</summary>
    private static readonly DateTimeOffset MonthStart = new(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, 1, 8, 0, 0, TimeSpan.Zero);

    public Task InitializeAsync() => _broker.StartAsync();

    [Fact]
    public async Task Run_EveryMessageTwice_CountedOnceAndApiAndExportsMatch()
    {
        var options = Options("c1");
        options.Web.Urls = "http://127.0.0.1:0";
        options.Dhis2 = new Dhis2Options
        {
            OrgUnits = { ["site-a"] = "OU_A" },
            DataElements = { ["screened"] = new() { Id = "DE_SCR", Disaggregated = true }, ["presumptive"] = new() { Id = "DE_PRE" } },
            CategoryOptionCombos = { ["default"] = "COC_DEF", ["unknown"] = "COC_UNK", ["25-34/F"] = "COC_F2534", ["65+/M"] = "COC_M65" },
        };
        await using var host = await CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None);
        await host.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        await using var device = new TestDevice("site-a", "edge-01");
        await device.ConnectAsync(_broker.Port);

        // 30 screened (10 referred, at threshold 40 then 10 at 35), 5 rejected, 2 errors: each published twice, as after a lost PUBACK.
        var published = 0;
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 30; i++)
            {
                await device.PublishResultAsync($"r-{i}", MonthStart.AddMinutes(i), decision: i % 3 == 0 ? "refer" : "no-refer", threshold: i < 20 ? 40 : 35, ageBand: i < 20 ? "25-34" : "65+", sex: i < 20 ? "F" : "M");
                published++;
            }

            for (var i = 0; i < 5; i++)
            {
                await device.PublishResultAsync($"q-{i}", MonthStart.AddMinutes(40 + i), status: "rejected", score: null, decision: null, threshold: null, ageBand: null, sex: null, extraJson: ""","historical":true""");
                published++;
            }

            for (var i = 0; i < 2; i++)
            {
                await device.PublishResultAsync($"e-{i}", MonthStart.AddMinutes(50 + i), status: "error", score: null, decision: null, threshold: null);
                published++;
            }
        }

        await device.PublishAsync("status", """{"state":"online","site":"site-a","device":"edge-01","firmware":"0.4.0","modelName":"tb-cxr","modelVersion":"1.0.0","provider":"Cpu","backlog":0,"at":"2026-12-01T00:00:00Z"}""", retain: true);
        await device.PublishAsync("drift", """{"day":"2026-12-01","flags":["score-shift"]}""", retain: false);
        await WaitForCommittedAsync([host], published + 2);

        Assert.Equal(new StoreTotals(37, 0), await host.Store.TotalsAsync(CancellationToken.None));
        using var http = new HttpClient { BaseAddress = host.WebAddress };
        var indicators = JsonNode.Parse(await http.GetStringAsync("/api/indicators?period=month&site=site-a"))!;
        var row = Assert.Single(indicators["rows"]!.AsArray())!;
        Assert.Equal((37L, 30L, 10L, 5L, 2L), ((long)row["results"]!, (long)row["screened"]!, (long)row["presumptive"]!, (long)row["rejected"]!, (long)row["errors"]!));
        Assert.Equal(33.3, (double)row["referPercent"]!);
        Assert.Equal(20L, (long)row["byAgeSex"]!.AsArray().Single(c => (string)c!["ageBand"]! == "25-34")!["screened"]!);

        var devices = JsonNode.Parse(await http.GetStringAsync("/api/devices"))!.AsArray();
        var health = Assert.Single(devices)!;
        Assert.Equal(("online", "0.4.0", "score-shift"), ((string)health["state"]!, (string)health["firmware"]!, (string)health["driftFlags"]![0]!));
        var thresholds = JsonNode.Parse(await http.GetStringAsync("/api/thresholds"))!.AsArray();
        Assert.Equal(["40->35", "->40"], thresholds.Select(t => $"{(double?)t!["from"]}->{(double)t["to"]!}"));

        var month = MonthStart.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var dhis2 = JsonNode.Parse(await http.GetStringAsync($"/api/export/dhis2?month={month}"))!;
        var values = dhis2["dataValues"]!.AsArray().Select(v => $"{v!["dataElement"]}/{v["categoryOptionCombo"]}={v["value"]}").ToList();
        Assert.Equal(["DE_PRE/COC_DEF=10", "DE_SCR/COC_F2534=20", "DE_SCR/COC_M65=10"], values);
        Assert.Equal(month.Replace("-", "", StringComparison.Ordinal), (string)dhis2["period"]!);

        var fhir = JsonNode.Parse(await http.GetStringAsync($"/api/export/fhir?site=site-a&month={month}"))!;
        Assert.Equal(30L, (long)fhir["group"]![0]!["population"]![0]!["count"]!);
        var csv = await http.GetStringAsync("/api/export/csv?period=month&site=site-a");
        Assert.Contains($"site-a,{month},", csv, StringComparison.Ordinal);
        Assert.Contains(",all,all,37,30,10,5,2,33.3,13.5", csv, StringComparison.Ordinal);
        var page = await http.GetStringAsync("/");
        Assert.Contains("<svg", page, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        _loggers.AssertNoErrors();
    }

    [Fact]
    public async Task Run_RestartMidStream_NothingLostNothingDoubled()
    {
        const int total = 400;
        var options = Options("c-restart");
        await using var device = new TestDevice("site-a", "edge-01");
        await device.ConnectAsync(_broker.Port);
        var first = await CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None);
        var firstStopped = false;
        try
        {
            await first.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
            for (var i = 0; i < total / 4; i++)
            {
                await device.PublishResultAsync($"r-{i}", MonthStart.AddSeconds(i));
            }

            // Stop while the stream goes on: what was taken but not committed is unacknowledged and comes again.
            var publishing = Task.Run(async () =>
            {
                for (var i = total / 4; i < total; i++)
                {
                    await device.PublishResultAsync($"r-{i}", MonthStart.AddSeconds(i));
                }
            });
            await WaitForCommittedAsync([first], 50);
            await first.DisposeAsync();
            firstStopped = true;
            await publishing;
        }
        finally
        {
            if (!firstStopped)
            {
                await first.DisposeAsync();
            }
        }

        await using var second = await CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None);
        try
        {
            await WaitForStoredAsync(second, total);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "; missing " + await MissingAsync(options.Sqlite.Path, total));
        }

        Assert.Contains(_loggers.Lines, l => l.Message.Contains("as c-restart (session resumed: True)", StringComparison.Ordinal));
        Assert.Equal(total, await CountRowsAsync(options.Sqlite.Path));
        Assert.Equal(total, (await second.Store.DailyCountsAsync(null, DateOnly.FromDateTime(MonthStart.UtcDateTime), DateOnly.FromDateTime(MonthStart.UtcDateTime.AddDays(1)), CancellationToken.None)).Sum(c => c.Count));
        _loggers.AssertNoErrors();
    }

    [Fact]
    public async Task Run_ResultsPublishedSomeTwice_ResultsCommittedNamesEachIdOnceStoredWhenRaised()
    {
        var options = Options("c-ids");
        await using var host = await CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None);
        await host.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        var raised = new List<(string Id, bool StoredThen)>();
        host.Ingest.ResultsCommitted += ids =>
        {
            // Raised after the commit: every id it names must already be in the store the dashboard reads.
            using var connection = new SqliteConnection($"Data Source={options.Sqlite.Path};Mode=ReadOnly;Pooling=False");
            connection.Open();
            foreach (var id in ids)
            {
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT count(*) FROM results WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                var stored = (long)command.ExecuteScalar()! == 1;
                lock (raised)
                {
                    raised.Add((id, stored));
                }
            }
        };
        await using var device = new TestDevice("site-a", "edge-01");
        await device.ConnectAsync(_broker.Port);

        // 12 results, the first 4 twice (as after a lost PUBACK), then a status, which names no result.
        for (var i = 0; i < 12; i++)
        {
            await device.PublishResultAsync($"r-{i}", MonthStart.AddSeconds(i));
        }

        for (var i = 0; i < 4; i++)
        {
            await device.PublishResultAsync($"r-{i}", MonthStart.AddSeconds(i));
        }

        await device.PublishAsync("status", """{"state":"online","site":"site-a","device":"edge-01","at":"2026-12-01T00:00:00Z"}""", retain: false);
        await WaitForCommittedAsync([host], 17);

        lock (raised)
        {
            Assert.All(raised, r => Assert.True(r.StoredThen, r.Id + " was named before its commit"));
            Assert.Equal(Enumerable.Range(0, 12).Select(i => $"r-{i}").Order(StringComparer.Ordinal), raised.Select(r => r.Id).Distinct().Order(StringComparer.Ordinal));
            Assert.True(raised.Count >= 12, $"{raised.Count} ids named for 16 result messages");
        }

        _loggers.AssertNoErrors();
    }

    [PostgresFact]
    public async Task Run_TwoCollectorsOnSharedSubscription_SplitTheLoadAndHoldEverythingOnce()
    {
        const int total = 300;
        var database = await postgres.NewDatabaseAsync();
        var a = Options("c-a");
        var b = Options("c-b");
        a.Postgres.ConnectionString = b.Postgres.ConnectionString = database;
        await using var collectorA = await CollectorHost.StartAsync(a, _loggers.Factory, CancellationToken.None);
        await using var collectorB = await CollectorHost.StartAsync(b, _loggers.Factory, CancellationToken.None);
        await Task.WhenAll(collectorA.Ingest.Subscribed, collectorB.Ingest.Subscribed).WaitAsync(TimeSpan.FromSeconds(30));
        await using var device1 = new TestDevice("site-a", "edge-01");
        await using var device2 = new TestDevice("site-b", "edge-07");
        await device1.ConnectAsync(_broker.Port);
        await device2.ConnectAsync(_broker.Port);

        for (var i = 0; i < total / 2; i++)
        {
            await device1.PublishResultAsync($"a-{i}", MonthStart.AddSeconds(i));
            await device2.PublishResultAsync($"b-{i}", MonthStart.AddSeconds(i));
        }

        await WaitForCommittedAsync([collectorA, collectorB], total);

        // Each message went to one collector: the two took a share each, and their shares add up to what was published.
        Assert.True(collectorA.Ingest.CommittedMessages > 0 && collectorB.Ingest.CommittedMessages > 0, $"split {collectorA.Ingest.CommittedMessages}/{collectorB.Ingest.CommittedMessages}");
        Assert.Equal(total, collectorA.Ingest.CommittedMessages + collectorB.Ingest.CommittedMessages);
        Assert.Equal(new StoreTotals(total, 0), await collectorA.Store.TotalsAsync(CancellationToken.None));
        _loggers.AssertNoErrors();
    }

    [Fact]
    public async Task StartAsync_WebAddressTaken_ThrowsIOException()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var options = Options("c-port");
        options.Web.Urls = $"http://127.0.0.1:{((System.Net.IPEndPoint)taken.LocalEndpoint).Port}";

        // The CLI reports this as a start-up failure (exit 1), not a crash.
        await Assert.ThrowsAnyAsync<IOException>(() => CollectorHost.StartAsync(options, _loggers.Factory, CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _temp.Dispose();
    }

    private CollectorOptions Options(string clientId) => new()
    {
        Mqtt = { Host = "127.0.0.1", Port = _broker.Port, UseTls = false, ClientId = clientId, MinReconnectDelay = TimeSpan.FromMilliseconds(200), MaxReconnectDelay = TimeSpan.FromSeconds(2) },
        Sqlite = { Path = _temp.Combine(clientId + ".db") },
        Web = { Urls = "" },
    };

    private static async Task WaitForCommittedAsync(IReadOnlyList<CollectorHost> hosts, long atLeast)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(WriteOutcome _)
        {
            if (hosts.Sum(h => h.Ingest.CommittedMessages) >= atLeast)
            {
                done.TrySetResult();
            }
        }

        foreach (var host in hosts)
        {
            host.Ingest.Committed += Check;
        }

        try
        {
            Check(new WriteOutcome(0, 0, 0));
            await done.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"committed {hosts.Sum(h => h.Ingest.CommittedMessages)} of at least {atLeast}");
        }
        finally
        {
            foreach (var host in hosts)
            {
                host.Ingest.Committed -= Check;
            }
        }
    }

    private static async Task WaitForStoredAsync(CollectorHost host, long results)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async void Check(WriteOutcome _)
        {
            if ((await host.Store.TotalsAsync(CancellationToken.None)).Results >= results)
            {
                done.TrySetResult();
            }
        }

        host.Ingest.Committed += Check;
        try
        {
            Check(new WriteOutcome(0, 0, 0));
            await done.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"stored {(await host.Store.TotalsAsync(CancellationToken.None))} of {results}");
        }
        finally
        {
            host.Ingest.Committed -= Check;
        }
    }

    private static async Task<string> MissingAsync(string path, int total)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM results";
        var present = new HashSet<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            present.Add(reader.GetString(0));
        }

        return string.Join(",", Enumerable.Range(0, total).Select(i => $"r-{i}").Where(id => !present.Contains(id)));
    }

    private static async Task<long> CountRowsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(DISTINCT id) FROM results";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
