using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Edge.Collector;
using Edge.Faults;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Edge.Sync.Tests;

/// <summary>
/// De-identification, end to end: DICOM files with distinctive PHI in every attribute of the DICOM Basic Application
/// Level Confidentiality Profile (PS3.15 Table E.1-1) that a CR/DX image can carry (<see cref="PhiCorpus"/>) are pushed
/// to the running appliance over C-STORE, with the provincial collector taking everything it sends, once into SQLite and
/// once into PostgreSQL. No planted value, nor a recognisable part of one, may then be found in what the broker carries
/// (results, replays, statistics, drift, status, command replies), in the appliance's log, in the slips it prints, in
/// either collector store (rows and files), in any collector export or API answer, or in the collector's log.
/// </summary>
public sealed class PhiTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] ResultFields = ["id", "site", "device", "acquiredAt", "screenedAt", "status", "score", "decision", "threshold", "model", "qc", "subject", "historical"];

    private readonly TempDirectory _temp = new("edge-phi");

    [Fact]
    public async Task Run_PhiInEveryProfileAttribute_NoPlantedValueReachesBrokerLogsSlipsCollectorStoresOrExports()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string name) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {name}");

        // initdb and the server start take seconds: they run while the corpus is planted.
        var starting = PostgresServer.StartAsync();
        var planted = new List<Planted>();
        var files = new List<(string Path, string? Proposal, List<Planted> Values)>();
        try
        {
            for (var i = 0; i < PhiCorpus.Sources.Length; i++)
            {
                var (file, values) = await PhiCorpus.PlantAsync(_temp, PhiCorpus.Sources[i], i);
                files.Add((file, PhiCorpus.Sources[i].Proposal, values));
                planted.AddRange(values);
            }
        }
        catch
        {
            // No server outlives a failed planting.
            await (await starting).DisposeAsync();
            throw;
        }

        var scanner = new PhiScanner(planted);
        Phase("corpus planted");
        await using var postgres = await starting;
        var postgresDatabase = await postgres.CreateDatabaseAsync("collector_phi");
        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var everything = new Subscriber();
        await everything.ConnectAsync(broker.Port, "#");

        // Both store back-ends at once, on the same broker: plain subscriptions, so each collector takes every message.
        using var collectorLogs = new CapturedLogs();
        using var collectorLoggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(collectorLogs));
        var sqliteOptions = CollectorOptionsFor(broker.Port, "province-sqlite");
        sqliteOptions.Sqlite.Path = _temp.Combine("collector.db");
        var postgresOptions = CollectorOptionsFor(broker.Port, "province-postgres");
        postgresOptions.Postgres.ConnectionString = postgresDatabase;
        await using var sqliteCollector = await CollectorHost.StartAsync(sqliteOptions, collectorLoggers, CancellationToken.None);
        await using var postgresCollector = await CollectorHost.StartAsync(postgresOptions, collectorLoggers, CancellationToken.None);
        Assert.Equal(("sqlite", "postgres"), (sqliteCollector.Store.Kind, postgresCollector.Store.Kind));
        await Task.WhenAll(sqliteCollector.Ingest.Subscribed, postgresCollector.Ingest.Subscribed).WaitAsync(TimeSpan.FromSeconds(60));

        var key = ApplianceHost.WriteKey(_temp);
        Phase("PostgreSQL, broker and both collectors ready");
        await using var host = await ApplianceHost.StartAsync(ApplianceHost.OptionsFor(_temp, broker.Port, key));
        Phase("appliance ready");

        // The watched folder first: while the spool is unavailable the file is refused and the reason logged, then it is
        // taken once the spool is back.
        var (watched, _, watchedValues) = files.Single(f => f.Proposal is null);
        var spool = Path.Combine(host.Options.Storage.Path, "spool");
        Directory.Move(spool, spool + "-away");
        var staged = _temp.Combine(PhiCorpus.PatientFileName(watchedValues));
        File.Copy(watched, staged);
        File.Move(staged, Path.Combine(host.Inbox, Path.GetFileName(staged)));
        await host.WaitForLogAsync(l => l.Text.StartsWith("Could not take an image from the watched folder", StringComparison.Ordinal));
        Directory.Move(spool + "-away", spool);
        Phase("watched file refused, then the spool restored");

        foreach (var (file, proposal, _) in files.Where(f => f.Proposal is not null))
        {
            var store = await ChildProcess.RunAsync("storescu", ["-aec", "EDGE", "-aet", "CONSOLE", proposal!, "127.0.0.1", host.DicomPort.ToString(CultureInfo.InvariantCulture), file], TimeSpan.FromMinutes(1));
            Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);
        }

        await host.WaitForResultsAsync(files.Count);
        Phase("images screened");
        await everything.WaitForAsync(r => r.Count(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)) >= files.Count);

        // Every other kind of message the device sends: statistics, drift, a replay, a command reply.
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await using var programme = new Subscriber();
        await programme.ConnectAsync(broker.Port, "tb/v1/+/+/cmd/+/reply");
        foreach (var (name, body) in new[] { ("stats", $$"""{"id":"c-stats","issuedBy":"tb-programme","date":"{{today}}"}"""), ("drift", $$"""{"id":"c-drift","issuedBy":"tb-programme","date":"{{today}}"}"""), ("resend", $$"""{"id":"c-resend","issuedBy":"tb-programme","since":"{{today}}"}"""), ("threshold", """{"id":"c-thr","issuedBy":"tb-programme","threshold":40}""") })
        {
            await programme.PublishAsync($"tb/v1/{ApplianceHost.Site}/{ApplianceHost.Device}/cmd/{name}", body);
        }

        await everything.WaitForAsync(r => r.Count(m => m.Topic.EndsWith("/reply", StringComparison.Ordinal)) >= 4 && r.Any(m => m.Topic.EndsWith("/stats", StringComparison.Ordinal)) && r.Any(m => m.Topic.EndsWith("/drift", StringComparison.Ordinal)) && r.Count(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)) >= 2 * files.Count);
        await host.StopAsync();
        await everything.WaitForAsync(r => r.Any(m => m.Topic.EndsWith("/status", StringComparison.Ordinal) && m.Payload.Contains("\"offline\"", StringComparison.Ordinal)));

        // The offline status is the device's last message: once a collector holds it, it holds all that came before.
        foreach (var collector in new[] { sqliteCollector, postgresCollector })
        {
            await WaitForStoreAsync(collector, collectorLogs, async s =>
                (await s.TotalsAsync(CancellationToken.None)).Results >= files.Count
                && (await s.DevicesAsync(CancellationToken.None)) is [{ State: "offline", StatsJson: not null, DriftJson: not null }]);
        }

        // The appliance did read the PHI (it is in the local record), so the scan below is not vacuous.
        using (var db = new SqliteConnection($"Data Source={host.Options.Storage.Path}/edge.db;Mode=ReadOnly;Pooling=False"))
        {
            db.Open();
            using var command = new SqliteCommand("SELECT group_concat(patient_id || ' ' || patient_name || ' ' || accession, ' ') FROM results", db);
            var local = (string)command.ExecuteScalar()!;
            Assert.Contains(planted.Single(p => p.Keyword == "AccessionNumber" && p.File == 0).Value, local, StringComparison.Ordinal);
        }

        Phase("collectors hold everything the device sent");
        var received = everything.Received;
        Assert.Contains(received, m => m.Topic.EndsWith("/status", StringComparison.Ordinal));
        var leaks = new List<PhiLeak>();
        foreach (var message in received)
        {
            leaks.AddRange(scanner.Scan("the broker message on " + message.Topic, message.Topic + " " + message.Payload));
        }

        // In the appliance's log: nothing at any level, except UIDs, which the DICOM service may name at debug level (off in service).
        foreach (var line in host.Logs.Lines)
        {
            leaks.AddRange(scanner.Scan($"the appliance's {line.Level} log: {line.Text}", line.Text, p => p.Kind != "UI" || line.Level >= LogLevel.Information));
        }

        // The slips leave the device on paper with the patient (ShowExamReference is off, the default): the printer's
        // bytes and their text copies.
        var slips = Directory.GetFiles(host.Options.Hardware.SlipDirectory!);
        Assert.Contains(slips, s => s.EndsWith(".escpos", StringComparison.Ordinal));
        foreach (var slip in slips.Where(s => !s.EndsWith(".png", StringComparison.Ordinal)))
        {
            leaks.AddRange(scanner.ScanFile(slip));
        }

        // The province: both stores, as rows and as the files or dump an administrator would copy, every answer the
        // collector gives, and its log.
        var months = ResultPayloads(received).Select(r => r.GetProperty("screenedAt").GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture)).Distinct().ToList();
        var sqliteRows = await SqliteRowsAsync(sqliteOptions.Sqlite.Path);
        leaks.AddRange(scanner.Scan("the collector's SQLite rows", sqliteRows));
        foreach (var file in SqliteFiles(sqliteOptions.Sqlite.Path))
        {
            leaks.AddRange(scanner.ScanFile(file));
        }

        var dump = await PgDumpAsync(postgres, "collector_phi");
        leaks.AddRange(scanner.Scan("the collector's PostgreSQL dump", dump));
        foreach (var collector in new[] { sqliteCollector, postgresCollector })
        {
            foreach (var (request, answer) in await CollectorAnswersAsync(collector, months))
            {
                leaks.AddRange(scanner.Scan($"the {collector.Store.Kind} collector's answer to {request}", answer));
            }
        }

        foreach (var line in collectorLogs.Lines)
        {
            leaks.AddRange(scanner.Scan($"the collector's {line.Level} log ({line.Category}): {line.Text}", line.Text));
        }

        Phase("everything scanned");
        Assert.True(leaks.Count == 0, "PHI left the device:\n" + string.Join("\n", leaks.Select(l => l.ToString()).Distinct()));

        // Results carry exactly the programme's fields, and the patient only as the keyed pseudonym.
        var results = ResultPayloads(received);
        Assert.All(results, r => Assert.Equal(ResultFields, r.EnumerateObject().Select(p => p.Name)));
        Assert.All(results, r => Assert.Equal(["pseudoId", "ageBand", "sex"], r.GetProperty("subject").EnumerateObject().Select(p => p.Name)));
        var pseudonyms = results.Select(r => r.GetProperty("subject").GetProperty("pseudoId").GetString()).ToHashSet();
        var keyBytes = await File.ReadAllBytesAsync(key);

        // Every path was walked, and each image that could be read carries its patient as the pseudonym.
        Assert.Equal(PhiCorpus.Sources.Select(s => s.Status).Order(StringComparer.Ordinal), results.Where(r => !r.GetProperty("historical").GetBoolean()).Select(r => r.GetProperty("status").GetString()).Order(StringComparer.Ordinal));
        foreach (var id in planted.Where(p => p.Keyword == "PatientID" && PhiCorpus.Sources[p.File].Readable).Select(p => p.Value))
        {
            var pseudonym = Convert.ToHexStringLower(HMACSHA256.HashData(keyBytes, Encoding.UTF8.GetBytes(id)));
            Assert.Contains(pseudonym, pseudonyms);

            // Both stores hold the results, so the scans above read what the collector keeps.
            Assert.Contains(pseudonym, sqliteRows, StringComparison.Ordinal);
            Assert.Contains(pseudonym, dump, StringComparison.Ordinal);
        }

        Assert.Equal(files.Count, results.Count(r => r.GetProperty("historical").GetBoolean()));

        // And the scans can fail: a device that put a patient's name into a drift document (stored as received) is
        // caught in both stores' rows, files and dump, even with the first name component JSON-escaped.
        var leaked = planted.First(p => p.Kind == "PN");
        var disguised = leaked.Value.Replace(leaked.Tokens[0], leaked.Tokens[0][..2] + "\\u" + ((int)leaked.Tokens[0][2]).ToString("x4", CultureInfo.InvariantCulture) + leaked.Tokens[0][3..], StringComparison.Ordinal);
        Assert.DoesNotContain(leaked.Tokens[0], disguised, StringComparison.OrdinalIgnoreCase);
        var leaky = $$"""{"id":"site-a/dev-1/drift/2001-01-01","date":"2001-01-01","scanners":[{"manufacturer":"ACME","model":"{{disguised}}","count":1}]}""";
        await programme.PublishAsync($"tb/v1/{ApplianceHost.Site}/{ApplianceHost.Device}/drift", leaky);
        foreach (var collector in new[] { sqliteCollector, postgresCollector })
        {
            await WaitForStoreAsync(collector, collectorLogs, async s => (await s.RecentReportsAsync("drift", 10, CancellationToken.None)).Any(r => r.Day == "2001-01-01"));
        }

        Assert.Contains(scanner.Scan("rows", await SqliteRowsAsync(sqliteOptions.Sqlite.Path)), l => l.Token == leaked.Tokens[0]);
        Assert.Contains(SqliteFiles(sqliteOptions.Sqlite.Path).SelectMany(scanner.ScanFile), l => l.Token == leaked.Tokens[^1]);
        Assert.Contains(scanner.Scan("dump", await PgDumpAsync(postgres, "collector_phi")), l => l.Token == leaked.Tokens[0]);

        Phase("the scans caught the disguised name");

        static List<JsonElement> ResultPayloads(IEnumerable<Received> messages) =>
            [.. messages.Where(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)).Select(m => JsonDocument.Parse(m.Payload).RootElement)];
    }

    public void Dispose() => _temp.Dispose();

    private static CollectorOptions CollectorOptionsFor(int brokerPort, string clientId) => new()
    {
        Mqtt = { Host = "127.0.0.1", Port = brokerPort, UseTls = false, ClientId = clientId, ShareGroup = "", BatchSize = 10, MinReconnectDelay = TimeSpan.FromMilliseconds(200), MaxReconnectDelay = TimeSpan.FromSeconds(1) },
        Web = { Urls = "http://127.0.0.1:0" },

        // A mapping that covers the site, so the DHIS2 export answers with data values rather than its list of problems.
        Dhis2 =
        {
            DataSet = "TbCxrScr01",
            OrgUnits = { [ApplianceHost.Site] = "DiszpKrYNg8" },
            DataElements =
            {
                ["results"] = new Dhis2DataElementOptions { Id = "TbCxrReslt" },
                ["screened"] = new Dhis2DataElementOptions { Id = "TbCxrScrnd" },
                ["rejected"] = new Dhis2DataElementOptions { Id = "TbCxrRejct" },
            },
            CategoryOptionCombos = { ["default"] = "HllvX50cXC0" },
        },
    };

    private static Task WaitForStoreAsync(CollectorHost host, CapturedLogs logs, Func<ICollectorStore, Task<bool>> condition) =>
        Records.WaitForStoreAsync(host, condition, TimeSpan.FromMinutes(2), () => Task.FromResult($"the {host.Store.Kind} collector never held what was sent; its log: {string.Join(" | ", logs.Lines.TakeLast(30).Select(l => l.Text))}"));

    /// <summary>Every row of every table of the collector's SQLite file, each value as text (blobs byte for byte).</summary>
    private static async Task<string> SqliteRowsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("results", tables);
        var text = new StringBuilder();
        foreach (var table in tables)
        {
            await using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.Append(table).Append(':');
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.GetValue(i);
                    text.Append(" | ").Append(value is byte[] blob ? Encoding.Latin1.GetString(blob) : Convert.ToString(value, CultureInfo.InvariantCulture));
                }

                text.AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>The database and, while it is open, its write-ahead log and shared-memory index: recent rows live in the WAL.</summary>
    private static IEnumerable<string> SqliteFiles(string path) =>
        new[] { path, path + "-wal", path + "-shm" }.Where(File.Exists);

    /// <summary>The whole PostgreSQL database as <c>pg_dump</c> writes it: schema and every table's rows.</summary>
    private static async Task<string> PgDumpAsync(PostgresServer server, string database)
    {
        var dump = await ChildProcess.RunAsync(Path.Combine(PostgresServer.BinDirectory!, "pg_dump"), ["-h", "127.0.0.1", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database], TimeSpan.FromMinutes(1), workingDirectory: "/");
        Assert.True(dump.ExitCode == 0, dump.Stderr);
        Assert.Contains("COPY public.results", dump.Stdout, StringComparison.Ordinal);
        return dump.Stdout;
    }

    /// <summary>Every page, API answer and export the collector offers, headers included (a CSV's file name is one).</summary>
    private static async Task<List<(string Request, string Answer)>> CollectorAnswersAsync(CollectorHost collector, IReadOnlyList<string> months)
    {
        var site = ApplianceHost.Site;
        var requests = new List<string> { "/", "/healthz", "/api/totals", "/api/devices", "/api/thresholds", $"/api/thresholds?site={site}" };
        foreach (var period in new[] { "day", "week", "month" })
        {
            requests.AddRange([$"/api/indicators?period={period}", $"/api/indicators?period={period}&site={site}", $"/api/export/csv?period={period}", $"/api/export/csv?period={period}&site={site}"]);
        }

        foreach (var month in months)
        {
            requests.AddRange([$"/api/export/dhis2?month={month}", $"/api/export/dhis2?month={month}&site={site}", $"/api/export/fhir?site={site}&month={month}"]);
        }

        using var http = new HttpClient { BaseAddress = collector.WebAddress };
        var answers = new List<(string Request, string Body)>();
        foreach (var request in requests)
        {
            using var response = await http.GetAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{request}: {(int)response.StatusCode} {body}");
            answers.Add((request, response.Headers + "\n" + response.Content.Headers + "\n" + body));
        }

        // The exports are not empty: they count the results, so a scan of them reads data, not a blank form.
        Assert.Contains(answers, a => a.Request.StartsWith("/api/export/dhis2", StringComparison.Ordinal) && a.Body.Contains("\"value\":", StringComparison.Ordinal));
        Assert.Contains(answers, a => a.Request == $"/api/export/csv?period=month&site={site}" && a.Body.Contains($"\n{site},", StringComparison.Ordinal));
        return answers;
    }
}
