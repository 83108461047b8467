using Npgsql;
using NpgsqlTypes;

namespace Edge.Collector;

/// <summary>
/// The province-scale store. Npgsql's slim builder keeps the Native AOT binary free of reflection; a batch of results is
/// one <c>INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING</c>, one round trip however many rows it holds.
/// </summary>
public sealed class PostgresCollectorStore : ICollectorStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresCollectorStore(string connectionString)
    {
        try
        {
            _dataSource = new NpgsqlSlimDataSourceBuilder(connectionString).EnableArrays().EnableTransportSecurity().Build();
        }
        catch (ArgumentException ex)
        {
            throw new CollectorException($"Collector:Postgres:ConnectionString is not valid: {ex.Message}", ex);
        }
    }

    public string Kind => "postgres";

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // Collectors of one province start together; the lock keeps their CREATE ... IF NOT EXISTS from racing.
            await using var command = new NpgsqlCommand("""
                SELECT pg_advisory_xact_lock(727271);
                CREATE TABLE IF NOT EXISTS results (
                    id text PRIMARY KEY, site text NOT NULL, device text NOT NULL, acquired_at timestamptz, screened_at timestamptz NOT NULL,
                    day text NOT NULL, status text NOT NULL, score double precision, decision text, threshold double precision, model_name text,
                    model_version text, model_sha256 text, qc text NOT NULL, pseudo_id text, age_band text, sex text,
                    historical boolean NOT NULL, received_at timestamptz NOT NULL);
                CREATE INDEX IF NOT EXISTS results_day_site ON results (day, site);
                CREATE TABLE IF NOT EXISTS devices (
                    site text NOT NULL, device text NOT NULL, last_seen timestamptz, state text, firmware text, model_name text,
                    model_version text, provider text, backlog bigint, status_at timestamptz, PRIMARY KEY (site, device));
                CREATE TABLE IF NOT EXISTS device_reports (
                    kind text NOT NULL, site text NOT NULL, device text NOT NULL, day text NOT NULL, payload text NOT NULL,
                    received_at timestamptz NOT NULL, PRIMARY KEY (kind, site, device, day));
                CREATE TABLE IF NOT EXISTS unreadable (
                    seq bigserial PRIMARY KEY, topic text NOT NULL, payload text NOT NULL, reason text NOT NULL, received_at timestamptz NOT NULL);
                """, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<WriteOutcome> WriteAsync(IngestBatch batch, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var inserted = 0;
        if (batch.Results.Count > 0)
        {
            var r = batch.Results;
            await using var insert = new NpgsqlCommand("""
                INSERT INTO results (id, site, device, acquired_at, screened_at, day, status, score, decision, threshold, model_name,
                    model_version, model_sha256, qc, pseudo_id, age_band, sex, historical, received_at)
                SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                ON CONFLICT (id) DO NOTHING
                """, connection, transaction);
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Id).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Site).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Device).ToArray());
            Add(insert, NpgsqlDbType.TimestampTz, r.Select(x => x.AcquiredAt?.UtcDateTime).ToArray());
            Add(insert, NpgsqlDbType.TimestampTz, r.Select(x => x.ScreenedAt.UtcDateTime).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Day).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Status).ToArray());
            Add(insert, NpgsqlDbType.Double, r.Select(x => x.Score).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Decision).ToArray());
            Add(insert, NpgsqlDbType.Double, r.Select(x => x.Threshold).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.ModelName).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.ModelVersion).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.ModelSha256).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.QcJson).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.PseudoId).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.AgeBand).ToArray());
            Add(insert, NpgsqlDbType.Text, r.Select(x => x.Sex).ToArray());
            Add(insert, NpgsqlDbType.Boolean, r.Select(x => x.Historical).ToArray());
            Add(insert, NpgsqlDbType.TimestampTz, r.Select(x => x.ReceivedAt.UtcDateTime).ToArray());
            inserted = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (batch.Seen.Count > 0)
        {
            await using var seen = new NpgsqlCommand("""
                INSERT INTO devices (site, device, last_seen) SELECT * FROM unnest($1, $2, $3)
                ON CONFLICT (site, device) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen)
                """, connection, transaction);
            Add(seen, NpgsqlDbType.Text, batch.Seen.Select(s => s.Site).ToArray());
            Add(seen, NpgsqlDbType.Text, batch.Seen.Select(s => s.Device).ToArray());
            Add(seen, NpgsqlDbType.TimestampTz, batch.Seen.Select(s => s.At.UtcDateTime).ToArray());
            await seen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var s in batch.Statuses)
        {
            // Retained statuses come again on every resubscribe, and may overtake each other: the newest stays.
            await using var status = new NpgsqlCommand("""
                INSERT INTO devices (site, device, state, firmware, model_name, model_version, provider, backlog, status_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (site, device) DO UPDATE SET state = excluded.state, firmware = coalesce(excluded.firmware, devices.firmware),
                    model_name = coalesce(excluded.model_name, devices.model_name), model_version = coalesce(excluded.model_version, devices.model_version),
                    provider = coalesce(excluded.provider, devices.provider), backlog = coalesce(excluded.backlog, devices.backlog), status_at = excluded.status_at
                WHERE devices.status_at IS NULL OR excluded.status_at >= devices.status_at
                """, connection, transaction);
            Add(status, NpgsqlDbType.Text, s.Site);
            Add(status, NpgsqlDbType.Text, s.Device);
            Add(status, NpgsqlDbType.Text, s.State);
            Add(status, NpgsqlDbType.Text, s.Firmware);
            Add(status, NpgsqlDbType.Text, s.ModelName);
            Add(status, NpgsqlDbType.Text, s.ModelVersion);
            Add(status, NpgsqlDbType.Text, s.Provider);
            Add(status, NpgsqlDbType.Bigint, s.Backlog);
            Add(status, NpgsqlDbType.TimestampTz, s.At.UtcDateTime);
            await status.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var report in batch.Reports)
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO device_reports (kind, site, device, day, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (kind, site, device, day) DO UPDATE SET payload = excluded.payload, received_at = excluded.received_at
                """, connection, transaction);
            Add(command, NpgsqlDbType.Text, report.Kind);
            Add(command, NpgsqlDbType.Text, report.Site);
            Add(command, NpgsqlDbType.Text, report.Device);
            Add(command, NpgsqlDbType.Text, report.Day);
            Add(command, NpgsqlDbType.Text, report.Json);
            Add(command, NpgsqlDbType.TimestampTz, report.ReceivedAt.UtcDateTime);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var u in batch.Unreadable)
        {
            await using var command = new NpgsqlCommand("INSERT INTO unreadable (topic, payload, reason, received_at) VALUES ($1, $2, $3, $4)", connection, transaction);
            Add(command, NpgsqlDbType.Text, u.Topic);
            Add(command, NpgsqlDbType.Text, u.Payload.Replace("\0", "", StringComparison.Ordinal));
            Add(command, NpgsqlDbType.Text, u.Reason);
            Add(command, NpgsqlDbType.TimestampTz, u.ReceivedAt.UtcDateTime);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new WriteOutcome(inserted, batch.Results.Count - inserted, batch.Unreadable.Count);
    }, cancellationToken);

    public Task<IReadOnlyList<DailyCount>> DailyCountsAsync(string? site, DateOnly from, DateOnly to, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<DailyCount>>(async connection =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT site, day, age_band, sex, status, decision, count(*) FROM results
            WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR site = $3)
            GROUP BY site, day, age_band, sex, status, decision
            """, connection);
        Add(command, NpgsqlDbType.Text, from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        Add(command, NpgsqlDbType.Text, to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        Add(command, NpgsqlDbType.Text, site);
        var rows = new List<DailyCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DailyCount(reader.GetString(0), reader.GetString(1), Text(reader, 2), Text(reader, 3), reader.GetString(4), Text(reader, 5), reader.GetInt64(6)));
        }

        return rows;
    }, cancellationToken);

    public Task<IReadOnlyList<DeviceRow>> DevicesAsync(CancellationToken cancellationToken) => RunAsync<IReadOnlyList<DeviceRow>>(async connection =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT d.site, d.device, d.last_seen, d.state, d.firmware, d.model_name, d.model_version, d.provider, d.backlog, d.status_at,
                s.day, s.payload, r.day, r.payload
            FROM devices d
            LEFT JOIN LATERAL (SELECT day, payload FROM device_reports x WHERE x.kind = 'stats' AND x.site = d.site AND x.device = d.device ORDER BY day DESC LIMIT 1) s ON true
            LEFT JOIN LATERAL (SELECT day, payload FROM device_reports x WHERE x.kind = 'drift' AND x.site = d.site AND x.device = d.device ORDER BY day DESC LIMIT 1) r ON true
            ORDER BY d.site, d.device
            """, connection);
        var rows = new List<DeviceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DeviceRow(
                reader.GetString(0), reader.GetString(1), Time(reader, 2), Text(reader, 3), Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7),
                reader.IsDBNull(8) ? null : reader.GetInt64(8), Time(reader, 9), Text(reader, 10), Text(reader, 11), Text(reader, 12), Text(reader, 13)));
        }

        return rows;
    }, cancellationToken);

    public Task<IReadOnlyList<DeviceReport>> RecentReportsAsync(string kind, int perDevice, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<DeviceReport>>(async connection =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT site, device, day, payload FROM (
                SELECT site, device, day, payload, row_number() OVER (PARTITION BY site, device ORDER BY day DESC) AS n
                FROM device_reports WHERE kind = $1) r
            WHERE n <= $2 ORDER BY site, device, day DESC
            """, connection);
        Add(command, NpgsqlDbType.Text, kind);
        Add(command, NpgsqlDbType.Bigint, (long)perDevice);
        var rows = new List<DeviceReport>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new DeviceReport(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }, cancellationToken);

    public Task<IReadOnlyList<ThresholdSpan>> ThresholdSpansAsync(string? site, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<ThresholdSpan>>(async connection =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT site, device, day, threshold, model_version, min(screened_at), max(screened_at), count(*) FROM results
            WHERE threshold IS NOT NULL AND ($1::text IS NULL OR site = $1)
            GROUP BY site, device, day, threshold, model_version
            """, connection);
        Add(command, NpgsqlDbType.Text, site);
        var rows = new List<ThresholdSpan>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ThresholdSpan(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetDouble(3), Text(reader, 4), Time(reader, 5)!.Value, Time(reader, 6)!.Value, reader.GetInt64(7)));
        }

        return rows;
    }, cancellationToken);

    public Task<StoreTotals> TotalsAsync(CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = new NpgsqlCommand("SELECT (SELECT count(*) FROM results), (SELECT count(*) FROM unreadable)", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new StoreTotals(reader.GetInt64(0), reader.GetInt64(1));
    }, cancellationToken);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static void Add<T>(NpgsqlCommand command, NpgsqlDbType type, T value)
    {
        var isArray = typeof(T).IsArray;
        command.Parameters.Add(new NpgsqlParameter<T> { NpgsqlDbType = isArray ? NpgsqlDbType.Array | type : type, TypedValue = value });
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or PostgresException)
        {
            throw new CollectorException($"PostgreSQL: {ex.Message}", ex);
        }
    }
}
