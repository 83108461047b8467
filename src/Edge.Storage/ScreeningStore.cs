using System.Globalization;
using Edge.Domain;
using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>A message waiting to be published, written in the same transaction as its result.</summary>
public sealed record OutboxMessage(string MessageId, string Topic, string Payload);

/// <summary>An outbox row not yet acknowledged by the broker; <see cref="Sequence"/> orders the drain.</summary>
public sealed record PendingOutboxMessage(long Sequence, string MessageId, string Topic, string Payload, int Attempts);

/// <summary>A result object waiting to be sent to one DICOM destination (<c>AE@host:port</c>).</summary>
public sealed record DicomSend(long Sequence, string ResultId, string Path, string Destination, int Attempts);

/// <summary>One line of the audit log.</summary>
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string Action, string Subject, string Detail);

/// <summary>A recorded result as the record holds it (heatmap and PHI columns left out).</summary>
public sealed record StoredResult(string Id, string Status, double? Probability, string? Referral, double? Threshold, string? ThresholdSource, string? ModelVersion, string? ModelSha256, string? Provider, string QcVerdict, string? ResultJson, DateTimeOffset? ActedAt);

/// <summary>
/// SQLite in WAL mode with synchronous=FULL: a committed result survives power loss. Results are keyed by the image id, so
/// recording the same image twice is refused by the key, not by luck.
/// </summary>
public sealed partial class ScreeningStore : IDisposable
{
    private const int SchemaVersion = 1;
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    private ScreeningStore(SqliteConnection connection)
    {
        _connection = connection;
    }

    public static ScreeningStore Open(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
            Migrate(connection);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new StorageException($"Cannot open the record at {databasePath}: {ex.Message}", ex);
        }

        return new ScreeningStore(connection);
    }

    /// <summary>Registers an image in the spool; returns the image as first registered (idempotent on the id).</summary>
    public ReceivedImage Register(ReceivedImage image, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            var inserted = Execute(
                _connection,
                "INSERT OR IGNORE INTO images(id, original_name, source, received_at) VALUES ($id, $name, $source, $at)",
                tx,
                ("$id", image.Id),
                ("$name", image.OriginalName),
                ("$source", image.Source.ToString()),
                ("$at", Iso(image.ReceivedAt)));
            if (inserted == 1)
            {
                Audit(tx, now, "received", image.Id, $"{image.Source}: {image.OriginalName}");
            }

            using var read = Command("SELECT original_name, source, received_at FROM images WHERE id = $id", tx, ("$id", image.Id));
            using var reader = read.ExecuteReader();
            reader.Read();
            var stored = image with
            {
                OriginalName = reader.GetString(0),
                Source = Enum.Parse<IntakeSource>(reader.GetString(1)),
                ReceivedAt = DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
            };
            reader.Close();
            tx.Commit();
            return stored;
        }
    }

    /// <summary>
    /// Commits a result, its audit line and its outbox message together. Returns false, changing nothing, when the image
    /// already has a result (a restart re-running an image whose commit had landed).
    /// </summary>
    public bool Record(ScreeningResult result, string resultJson, string imagePath, OutboxMessage? outbox, DateTimeOffset now)
    {
        lock (_lock)
        {
            try
            {
                using var tx = _connection.BeginTransaction();
                var inserted = Execute(
                    _connection,
                    """
                    INSERT OR IGNORE INTO results(id, status, screened_at, probability, referral, threshold, threshold_source,
                        model_name, model_version, model_sha256, provider, qc_verdict, error, heatmap, heatmap_width, heatmap_height,
                        image_path, result_json, patient_id, patient_name, accession, birth_date)
                    VALUES ($id, $status, $screened, $p, $referral, $threshold, $thresholdSource,
                        $modelName, $modelVersion, $modelSha, $provider, $qc, $error, $heatmap, $hw, $hh,
                        $imagePath, $json, $patientId, $patientName, $accession, $birthDate)
                    """,
                    tx,
                    ("$id", result.Id),
                    ("$status", result.Status.ToString()),
                    ("$screened", Iso(result.ScreenedAt)),
                    ("$p", result.Probability),
                    ("$referral", result.Decision?.Referral.ToString()),
                    ("$threshold", result.Decision?.Threshold),
                    ("$thresholdSource", result.Decision?.Source.ToString()),
                    ("$modelName", result.Model?.Name),
                    ("$modelVersion", result.Model?.Version),
                    ("$modelSha", result.Model?.Sha256),
                    ("$provider", result.ExecutionProvider),
                    ("$qc", result.Qc.Verdict.ToString()),
                    ("$error", result.Error),
                    ("$heatmap", result.Heatmap is { } h ? FloatsToBytes(h) : null),
                    ("$hw", result.HeatmapWidth),
                    ("$hh", result.HeatmapHeight),
                    ("$imagePath", imagePath),
                    ("$json", resultJson),
                    ("$patientId", result.Identity.PatientId),
                    ("$patientName", result.Identity.PatientName),
                    ("$accession", result.Identity.AccessionNumber),
                    ("$birthDate", result.Identity.BirthDate));
                if (inserted == 0)
                {
                    return false;
                }

                var detail = result.Status == ScreeningStatus.Screened
                    ? string.Create(CultureInfo.InvariantCulture, $"{result.Decision?.Referral} score {result.Probability:0.0000} threshold {result.Decision?.Threshold:0.0000} ({result.Decision?.Source}) model {result.Model?.Version}")
                    : $"{result.Status}: {string.Join("; ", result.Qc.Reasons)}{result.Error}";
                Audit(tx, now, result.Status == ScreeningStatus.Screened ? "screened" : result.Status.ToString().ToLowerInvariant(), result.Id, detail);
                if (outbox is not null)
                {
                    Execute(
                        _connection,
                        "INSERT INTO outbox(message_id, topic, payload, created_at) VALUES ($mid, $topic, $payload, $at)",
                        tx,
                        ("$mid", outbox.MessageId),
                        ("$topic", outbox.Topic),
                        ("$payload", outbox.Payload),
                        ("$at", Iso(now)));
                }

                tx.Commit();
                if (outbox is not null)
                {
                    RaiseOutboxQueued();
                }

                return true;
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not record result {result.Id}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>
    /// Queues result objects for each DICOM destination. Idempotent per file and destination, so acting on a result again
    /// after a restart does not send twice.
    /// </summary>
    public void EnqueueDicomSends(string resultId, IReadOnlyList<string> paths, IReadOnlyList<string> destinations, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var path in paths)
            {
                foreach (var destination in destinations)
                {
                    Execute(
                        _connection,
                        "INSERT OR IGNORE INTO dicom_sends(result_id, path, destination, created_at, next_attempt_at) VALUES ($r, $p, $d, $at, $at)",
                        tx,
                        ("$r", resultId),
                        ("$p", path),
                        ("$d", destination),
                        ("$at", Iso(now)));
                }
            }

            tx.Commit();
        }
    }

    /// <summary>Sends whose next attempt is due, oldest first.</summary>
    public IReadOnlyList<DicomSend> DueDicomSends(DateTimeOffset now, int limit)
    {
        lock (_lock)
        {
            using var command = Command(
                "SELECT seq, result_id, path, destination, attempts FROM dicom_sends WHERE sent_at IS NULL AND next_attempt_at <= $now ORDER BY seq LIMIT $limit",
                null,
                ("$now", Iso(now)),
                ("$limit", limit));
            using var reader = command.ExecuteReader();
            var due = new List<DicomSend>();
            while (reader.Read())
            {
                due.Add(new DicomSend(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4)));
            }

            return due;
        }
    }

    public void MarkDicomSent(DicomSend send, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            Execute(_connection, "UPDATE dicom_sends SET sent_at = $at, attempts = attempts + 1, last_error = NULL WHERE seq = $seq", tx, ("$at", Iso(now)), ("$seq", send.Sequence));
            Audit(tx, now, "dicom-sent", send.ResultId, $"{Path.GetFileName(send.Path)} to {send.Destination}");
            tx.Commit();
        }
    }

    public void MarkDicomSendFailed(DicomSend send, string error, DateTimeOffset nextAttempt)
    {
        lock (_lock)
        {
            Execute(
                _connection,
                "UPDATE dicom_sends SET attempts = attempts + 1, last_error = $e, next_attempt_at = $next WHERE seq = $seq",
                null,
                ("$e", error),
                ("$next", Iso(nextAttempt)),
                ("$seq", send.Sequence));
        }
    }

    public long CountDicomSendsPending() => Scalar("SELECT COUNT(*) FROM dicom_sends WHERE sent_at IS NULL");

    /// <summary>Marks the console actions for a result as done and audits each.</summary>
    public void MarkActed(string id, IEnumerable<(string Action, string Detail)> actions, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var (action, detail) in actions)
            {
                Audit(tx, now, action, id, detail);
            }

            Execute(_connection, "UPDATE results SET acted_at = $at WHERE id = $id", tx, ("$at", Iso(now)), ("$id", id));
            tx.Commit();
        }
    }

    public void AppendAudit(string action, string subject, string detail, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            Audit(tx, now, action, subject, detail);
            tx.Commit();
        }
    }

    /// <summary>The detail of the newest audit line for an action, or null.</summary>
    public string? LastAuditDetail(string action)
    {
        lock (_lock)
        {
            using var command = Command("SELECT detail FROM audit WHERE action = $a ORDER BY seq DESC LIMIT 1", null, ("$a", action));
            return command.ExecuteScalar() as string;
        }
    }

    public bool HasResult(string id) => Scalar("SELECT COUNT(*) FROM results WHERE id = $id", ("$id", id)) > 0;

    /// <summary>Results committed whose console actions did not finish (a crash between commit and action).</summary>
    public IReadOnlyList<string> UnactedResultIds() => Strings("SELECT id FROM results WHERE acted_at IS NULL ORDER BY id");

    public StoredResult? FindResult(string id)
    {
        lock (_lock)
        {
            using var command = Command(
                "SELECT id, status, probability, referral, threshold, threshold_source, model_version, model_sha256, provider, qc_verdict, result_json, acted_at FROM results WHERE id = $id",
                null,
                ("$id", id));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new StoredResult(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetDouble(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                reader.IsDBNull(11) ? null : DateTimeOffset.Parse(reader.GetString(11), CultureInfo.InvariantCulture));
        }
    }

    public IReadOnlyList<AuditEntry> Audit(string? subject = null)
    {
        lock (_lock)
        {
            using var command = subject is null
                ? Command("SELECT seq, at, action, subject, detail FROM audit ORDER BY seq", null)
                : Command("SELECT seq, at, action, subject, detail FROM audit WHERE subject = $s ORDER BY seq", null, ("$s", subject));
            using var reader = command.ExecuteReader();
            var entries = new List<AuditEntry>();
            while (reader.Read())
            {
                entries.Add(new AuditEntry(reader.GetInt64(0), DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
            }

            return entries;
        }
    }

    public long CountResults() => Scalar("SELECT COUNT(*) FROM results");

    public long CountImages() => Scalar("SELECT COUNT(*) FROM images");

    public long CountOutbox() => Scalar("SELECT COUNT(*) FROM outbox");

    public long CountOutboxPending() => Scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL");

    /// <summary>
    /// Queues a message outside a result's transaction (status summaries, replays). Idempotent on the message id: returns
    /// false, changing nothing, when that id is already queued.
    /// </summary>
    public bool EnqueueOutbox(OutboxMessage message, DateTimeOffset now)
    {
        lock (_lock)
        {
            var queued = Execute(
                _connection,
                "INSERT OR IGNORE INTO outbox(message_id, topic, payload, created_at) VALUES ($mid, $topic, $payload, $at)",
                null,
                ("$mid", message.MessageId),
                ("$topic", message.Topic),
                ("$payload", message.Payload),
                ("$at", Iso(now))) == 1;
            if (queued)
            {
                RaiseOutboxQueued();
            }

            return queued;
        }
    }

    /// <summary>Messages the broker has not acknowledged, oldest first.</summary>
    public IReadOnlyList<PendingOutboxMessage> PendingOutbox(int limit)
    {
        lock (_lock)
        {
            using var command = Command("SELECT seq, message_id, topic, payload, attempts FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $limit", null, ("$limit", limit));
            using var reader = command.ExecuteReader();
            var pending = new List<PendingOutboxMessage>();
            while (reader.Read())
            {
                pending.Add(new PendingOutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4)));
            }

            return pending;
        }
    }

    /// <summary>Counts one more publish attempt, made before the message goes out so a crash mid-publish is still counted.</summary>
    public void CountOutboxAttempt(long sequence)
    {
        lock (_lock)
        {
            Execute(_connection, "UPDATE outbox SET attempts = attempts + 1 WHERE seq = $seq", null, ("$seq", sequence));
        }
    }

    /// <summary>The broker acknowledged the message (PUBACK): mark it sent and audit it as synced. Marking twice changes nothing.</summary>
    public void MarkOutboxSent(long sequence, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using var read = Command("SELECT message_id, attempts FROM outbox WHERE seq = $seq AND sent_at IS NULL", tx, ("$seq", sequence));
            using var reader = read.ExecuteReader();
            if (!reader.Read())
            {
                return;
            }

            var messageId = reader.GetString(0);
            var attempts = reader.GetInt32(1);
            reader.Close();
            Execute(_connection, "UPDATE outbox SET sent_at = $at WHERE seq = $seq", tx, ("$at", Iso(now)), ("$seq", sequence));
            Audit(tx, now, "synced", messageId, string.Create(CultureInfo.InvariantCulture, $"acknowledged by the broker after {attempts} attempt(s)"));
            tx.Commit();
        }
    }

    /// <summary>A quick write-and-read check for selftest.</summary>
    public string Check()
    {
        lock (_lock)
        {
            using var command = Command("PRAGMA quick_check", null);
            return command.ExecuteScalar() as string ?? "no answer";
        }
    }

    public void Dispose() => _connection.Dispose();

    private static void Migrate(SqliteConnection connection)
    {
        Execute(
            connection,
            """
            CREATE TABLE IF NOT EXISTS schema_info(version INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS images(
                id TEXT PRIMARY KEY,
                original_name TEXT NOT NULL,
                source TEXT NOT NULL,
                received_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS results(
                id TEXT PRIMARY KEY REFERENCES images(id),
                status TEXT NOT NULL,
                screened_at TEXT NOT NULL,
                probability REAL,
                referral TEXT,
                threshold REAL,
                threshold_source TEXT,
                model_name TEXT,
                model_version TEXT,
                model_sha256 TEXT,
                provider TEXT,
                qc_verdict TEXT NOT NULL,
                error TEXT,
                heatmap BLOB,
                heatmap_width INTEGER,
                heatmap_height INTEGER,
                image_path TEXT NOT NULL,
                result_json TEXT NOT NULL,
                patient_id TEXT,
                patient_name TEXT,
                accession TEXT,
                birth_date TEXT,
                acted_at TEXT,
                acknowledged_at TEXT,
                acknowledged_by TEXT);
            CREATE TABLE IF NOT EXISTS audit(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                action TEXT NOT NULL,
                subject TEXT NOT NULL,
                detail TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS outbox(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at TEXT NOT NULL,
                sent_at TEXT,
                attempts INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE sent_at IS NULL;
            CREATE TABLE IF NOT EXISTS dicom_sends(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                result_id TEXT NOT NULL,
                path TEXT NOT NULL,
                destination TEXT NOT NULL,
                created_at TEXT NOT NULL,
                next_attempt_at TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                sent_at TEXT,
                UNIQUE(path, destination));
            CREATE INDEX IF NOT EXISTS dicom_sends_due ON dicom_sends(next_attempt_at) WHERE sent_at IS NULL;
            """);
        using var version = new SqliteCommand("SELECT version FROM schema_info", connection);
        var current = version.ExecuteScalar();
        if (current is null)
        {
            Execute(connection, $"INSERT INTO schema_info(version) VALUES ({SchemaVersion})");
        }
        else if (Convert.ToInt32(current, CultureInfo.InvariantCulture) > SchemaVersion)
        {
            throw new StorageException($"The record was written by a newer firmware (schema {current}); this one knows schema {SchemaVersion}.");
        }

        MigrateSync(connection);
        MigratePrinting(connection);
        MigrateWeb(connection);
        MigrateThreshold(connection);
        MigrateDecodeAttempts(connection);
        MigrateResend(connection);
    }

    private void Audit(SqliteTransaction tx, DateTimeOffset at, string action, string subject, string detail) =>
        Execute(_connection, "INSERT INTO audit(at, action, subject, detail) VALUES ($at, $action, $subject, $detail)", tx, ("$at", Iso(at)), ("$action", action), ("$subject", subject), ("$detail", detail));

    private long Scalar(string sql, params (string, object?)[] parameters)
    {
        lock (_lock)
        {
            using var command = Command(sql, null, parameters);
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
    }

    private List<string> Strings(string sql)
    {
        lock (_lock)
        {
            using var command = Command(sql, null);
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read())
            {
                values.Add(reader.GetString(0));
            }

            return values;
        }
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static int Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteNonQuery();
    }

    private static string Iso(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static byte[] FloatsToBytes(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
