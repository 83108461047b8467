using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Edge.Collector;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with synchronous=FULL, because a batch is acknowledged to the broker
/// once committed and a power cut must not take back what was acknowledged. One writer (the ingest), readers in parallel.
/// </summary>
public sealed class SqliteCollectorStore : ICollectorStore
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
    private readonly string _connectionString;

    public SqliteCollectorStore(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = full, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public string Kind => "sqlite";

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS results (
                id TEXT PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL, acquired_at TEXT, screened_at TEXT NOT NULL,
                day TEXT NOT NULL, status TEXT NOT NULL, score REAL, decision TEXT, threshold REAL, model_name TEXT,
                model_version TEXT, model_sha256 TEXT, qc TEXT NOT NULL, pseudo_id TEXT, age_band TEXT, sex TEXT,
                historical INTEGER NOT NULL, received_at TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS results_day_site ON results (day, site);
            CREATE TABLE IF NOT EXISTS devices (
                site TEXT NOT NULL, device TEXT NOT NULL, last_seen TEXT, state TEXT, firmware TEXT, model_name TEXT,
                model_version TEXT, provider TEXT, backlog INTEGER, status_at TEXT, PRIMARY KEY (site, device));
            CREATE TABLE IF NOT EXISTS device_reports (
                kind TEXT NOT NULL, site TEXT NOT NULL, device TEXT NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL,
                received_at TEXT NOT NULL, PRIMARY KEY (kind, site, device, day));
            CREATE TABLE IF NOT EXISTS unreadable (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload TEXT NOT NULL, reason TEXT NOT NULL,
                received_at TEXT NOT NULL);
            """, cancellationToken).ConfigureAwait(false);
    }

    public async Task<WriteOutcome> WriteAsync(IngestBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var inserted = 0;
            if (batch.Results.Count > 0)
            {
                await using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = """
                    INSERT INTO results (id, site, device, acquired_at, screened_at, day, status, score, decision, threshold, model_name,
                        model_version, model_sha256, qc, pseudo_id, age_band, sex, historical, received_at)
                    VALUES ($id, $site, $device, $acq, $scr, $day, $status, $score, $decision, $threshold, $mn, $mv, $ms, $qc, $pid, $age, $sex, $hist, $rcv)
                    ON CONFLICT (id) DO NOTHING
                    """;
                var p = new Dictionary<string, SqliteParameter>();
                foreach (var name in new[] { "$id", "$site", "$device", "$acq", "$scr", "$day", "$status", "$score", "$decision", "$threshold", "$mn", "$mv", "$ms", "$qc", "$pid", "$age", "$sex", "$hist", "$rcv" })
                {
                    // Untyped: each value binds as what it is (text, real, integer or null).
                    p[name] = insert.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
                }

                insert.Prepare();
                foreach (var r in batch.Results)
                {
                    p["$id"].Value = r.Id;
                    p["$site"].Value = r.Site;
                    p["$device"].Value = r.Device;
                    p["$acq"].Value = Time(r.AcquiredAt);
                    p["$scr"].Value = Time(r.ScreenedAt);
                    p["$day"].Value = r.Day;
                    p["$status"].Value = r.Status;
                    p["$score"].Value = (object?)r.Score ?? DBNull.Value;
                    p["$decision"].Value = (object?)r.Decision ?? DBNull.Value;
                    p["$threshold"].Value = (object?)r.Threshold ?? DBNull.Value;
                    p["$mn"].Value = (object?)r.ModelName ?? DBNull.Value;
                    p["$mv"].Value = (object?)r.ModelVersion ?? DBNull.Value;
                    p["$ms"].Value = (object?)r.ModelSha256 ?? DBNull.Value;
                    p["$qc"].Value = r.QcJson;
                    p["$pid"].Value = (object?)r.PseudoId ?? DBNull.Value;
                    p["$age"].Value = (object?)r.AgeBand ?? DBNull.Value;
                    p["$sex"].Value = (object?)r.Sex ?? DBNull.Value;
                    p["$hist"].Value = r.Historical ? 1 : 0;
                    p["$rcv"].Value = Time(r.ReceivedAt);
                    inserted += await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var seen in batch.Seen)
            {
                await ExecuteAsync(connection, transaction, """
                    INSERT INTO devices (site, device, last_seen) VALUES ($site, $device, $at)
                    ON CONFLICT (site, device) DO UPDATE SET last_seen = max(coalesce(devices.last_seen, ''), excluded.last_seen)
                    """, cancellationToken, ("$site", seen.Site), ("$device", seen.Device), ("$at", Time(seen.At))).ConfigureAwait(false);
            }

            foreach (var s in batch.Statuses)
            {
                // Retained statuses come again on every resubscribe, and may overtake each other: the newest stays.
                await ExecuteAsync(connection, transaction, """
                    INSERT INTO devices (site, device, state, firmware, model_name, model_version, provider, backlog, status_at)
                    VALUES ($site, $device, $state, $fw, $mn, $mv, $prov, $backlog, $at)
                    ON CONFLICT (site, device) DO UPDATE SET state = excluded.state, firmware = coalesce(excluded.firmware, devices.firmware),
                        model_name = coalesce(excluded.model_name, devices.model_name), model_version = coalesce(excluded.model_version, devices.model_version),
                        provider = coalesce(excluded.provider, devices.provider), backlog = coalesce(excluded.backlog, devices.backlog), status_at = excluded.status_at
                    WHERE devices.status_at IS NULL OR excluded.status_at >= devices.status_at
                    """, cancellationToken, ("$site", s.Site), ("$device", s.Device), ("$state", s.State), ("$fw", s.Firmware), ("$mn", s.ModelName), ("$mv", s.ModelVersion), ("$prov", s.Provider), ("$backlog", s.Backlog), ("$at", Time(s.At))).ConfigureAwait(false);
            }

            foreach (var r in batch.Reports)
            {
                await ExecuteAsync(connection, transaction, """
                    INSERT INTO device_reports (kind, site, device, day, payload, received_at) VALUES ($kind, $site, $device, $day, $payload, $at)
                    ON CONFLICT (kind, site, device, day) DO UPDATE SET payload = excluded.payload, received_at = excluded.received_at
                    """, cancellationToken, ("$kind", r.Kind), ("$site", r.Site), ("$device", r.Device), ("$day", r.Day), ("$payload", r.Json), ("$at", Time(r.ReceivedAt))).ConfigureAwait(false);
            }

            foreach (var u in batch.Unreadable)
            {
                await ExecuteAsync(connection, transaction, "INSERT INTO unreadable (topic, payload, reason, received_at) VALUES ($topic, $payload, $reason, $at)", cancellationToken, ("$topic", u.Topic), ("$payload", u.Payload), ("$reason", u.Reason), ("$at", Time(u.ReceivedAt))).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new WriteOutcome(inserted, batch.Results.Count - inserted, batch.Unreadable.Count);
        }
        catch (SqliteException ex)
        {
            throw new CollectorException($"SQLite write failed: {ex.Message}", ex);
        }
    }

    public async Task<IReadOnlyList<DailyCount>> DailyCountsAsync(string? site, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var rows = new List<DailyCount>();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT site, day, age_band, sex, status, decision, count(*) FROM results
            WHERE day >= $from AND day <= $to AND ($site IS NULL OR site = $site)
            GROUP BY site, day, age_band, sex, status, decision
            """;
        command.Parameters.AddWithValue("$from", Day(from));
        command.Parameters.AddWithValue("$to", Day(to));
        command.Parameters.AddWithValue("$site", (object?)site ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DailyCount(reader.GetString(0), reader.GetString(1), Text(reader, 2), Text(reader, 3), reader.GetString(4), Text(reader, 5), reader.GetInt64(6)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<DeviceRow>> DevicesAsync(CancellationToken cancellationToken)
    {
        var rows = new List<DeviceRow>();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT d.site, d.device, d.last_seen, d.state, d.firmware, d.model_name, d.model_version, d.provider, d.backlog, d.status_at,
                s.day, s.payload, r.day, r.payload
            FROM devices d
            LEFT JOIN device_reports s ON s.kind = 'stats' AND s.site = d.site AND s.device = d.device
                AND s.day = (SELECT max(day) FROM device_reports x WHERE x.kind = 'stats' AND x.site = d.site AND x.device = d.device)
            LEFT JOIN device_reports r ON r.kind = 'drift' AND r.site = d.site AND r.device = d.device
                AND r.day = (SELECT max(day) FROM device_reports x WHERE x.kind = 'drift' AND x.site = d.site AND x.device = d.device)
            ORDER BY d.site, d.device
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DeviceRow(
                reader.GetString(0), reader.GetString(1), ParseTime(Text(reader, 2)), Text(reader, 3), Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7),
                reader.IsDBNull(8) ? null : reader.GetInt64(8), ParseTime(Text(reader, 9)), Text(reader, 10), Text(reader, 11), Text(reader, 12), Text(reader, 13)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<DeviceReport>> RecentReportsAsync(string kind, int perDevice, CancellationToken cancellationToken)
    {
        var rows = new List<DeviceReport>();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT site, device, day, payload FROM (
                SELECT site, device, day, payload, row_number() OVER (PARTITION BY site, device ORDER BY day DESC) AS n
                FROM device_reports WHERE kind = $kind)
            WHERE n <= $n ORDER BY site, device, day DESC
            """;
        command.Parameters.AddWithValue("$kind", kind);
        command.Parameters.AddWithValue("$n", perDevice);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DeviceReport(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<ThresholdSpan>> ThresholdSpansAsync(string? site, CancellationToken cancellationToken)
    {
        var rows = new List<ThresholdSpan>();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT site, device, day, threshold, model_version, min(screened_at), max(screened_at), count(*) FROM results
            WHERE threshold IS NOT NULL AND ($site IS NULL OR site = $site)
            GROUP BY site, device, day, threshold, model_version
            """;
        command.Parameters.AddWithValue("$site", (object?)site ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ThresholdSpan(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetDouble(3), Text(reader, 4), ParseTime(reader.GetString(5))!.Value, ParseTime(reader.GetString(6))!.Value, reader.GetInt64(7)));
        }

        return rows;
    }

    public async Task<StoreTotals> TotalsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT count(*) FROM results), (SELECT count(*) FROM unreadable)";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new StoreTotals(reader.GetInt64(0), reader.GetInt64(1));
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static object Time(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) : DBNull.Value;

    private static DateTimeOffset? ParseTime(string? text) =>
        text is null ? null : DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new CollectorException($"Cannot open the SQLite store: {ex.Message}", ex);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
