using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>A command as the record keeps it, so a redelivered one is answered again without being applied twice.</summary>
public sealed record CommandRecord(string CommandId, string Name, string IssuedBy, DateTimeOffset ReceivedAt, bool Accepted, string ReplyMessageId);

/// <summary>One result's de-identified counts row: what the daily statistics add up.</summary>
public sealed record ResultCount(string? AgeBand, string? Sex, string Status, string? Decision, long Count);

/// <summary>What an image looked like at intake, for the drift summary: no identity, only sizes, intensities and the scanner.</summary>
public sealed record DriftSample(
    string ResultId,
    string Format,
    int Width,
    int Height,
    int BitsStored,
    double IntensityMean,
    double IntensityStd,
    double? PixelSpacingMm,
    string? Manufacturer,
    string? ManufacturerModel);

/// <summary>A drift sample joined with its result.</summary>
public sealed record DriftObservation(DriftSample Sample, string Status, double? Probability, string? Referral, IReadOnlyList<string> QcCodes);

/// <summary>
/// Sync's part of the record: commands from the programme (applied once, audited, answered through the outbox), the
/// threshold they set, drift samples, and the queries behind statistics and replays. Statistics and replays read the
/// result messages in the outbox: they are the de-identified copy of each result, written in the result's transaction,
/// so outbox rows are kept after they are sent.
/// </summary>
public sealed partial class ScreeningStore
{
    /// <summary>Applies a command in one transaction: its record, its audit line (who, what, when), its effect, and its reply.</summary>
    /// <returns>False, changing nothing, when a command with this id was already handled.</returns>
    public bool RecordCommand(CommandRecord command, string auditDetail, OutboxMessage reply, ThresholdChange? threshold, IReadOnlyList<OutboxMessage> messages)
    {
        lock (_lock)
        {
            try
            {
                using var tx = _connection.BeginTransaction();
                var inserted = Execute(
                    _connection,
                    "INSERT OR IGNORE INTO sync_commands(command_id, name, issued_by, received_at, accepted, reply_message_id) VALUES ($id, $name, $by, $at, $ok, $reply)",
                    tx,
                    ("$id", command.CommandId),
                    ("$name", command.Name),
                    ("$by", command.IssuedBy),
                    ("$at", Iso(command.ReceivedAt)),
                    ("$ok", command.Accepted ? 1 : 0),
                    ("$reply", command.ReplyMessageId));
                if (inserted == 0)
                {
                    return false;
                }

                Audit(tx, command.ReceivedAt, "command-" + command.Name, command.CommandId, auditDetail);
                if (threshold is not null)
                {
                    InsertThresholdChange(tx, threshold);
                }

                foreach (var message in messages.Append(reply))
                {
                    InsertOutbox(tx, message, command.ReceivedAt);
                }

                tx.Commit();
                return true;
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not record command {command.Name}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>A command already handled, or null.</summary>
    public CommandRecord? FindCommand(string commandId)
    {
        lock (_lock)
        {
            using var command = Command("SELECT command_id, name, issued_by, received_at, accepted, reply_message_id FROM sync_commands WHERE command_id = $id", null, ("$id", commandId));
            using var reader = command.ExecuteReader();
            return reader.Read()
                ? new CommandRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture), reader.GetInt32(4) == 1, reader.GetString(5))
                : null;
        }
    }

    /// <summary>Whether a message id is in the outbox (sent or not).</summary>
    public bool HasOutboxMessage(string messageId) => Scalar("SELECT COUNT(*) FROM outbox WHERE message_id = $id", ("$id", messageId)) > 0;

    /// <summary>
    /// The result messages first queued for results recorded in [from, to), oldest first: the originals only, not
    /// earlier replays (their payload's id is the result's id, their message id is not).
    /// </summary>
    public IReadOnlyList<(string ResultId, string Payload)> ResultMessages(string topic, DateTimeOffset from, DateTimeOffset to)
    {
        lock (_lock)
        {
            using var command = Command(
                "SELECT o.message_id, o.payload FROM outbox o JOIN results r ON r.id = o.message_id WHERE o.topic = $topic AND o.created_at >= $from AND o.created_at < $to ORDER BY o.seq",
                null,
                ("$topic", topic),
                ("$from", Iso(from)),
                ("$to", Iso(to)));
            using var reader = command.ExecuteReader();
            var messages = new List<(string, string)>();
            while (reader.Read())
            {
                messages.Add((reader.GetString(0), reader.GetString(1)));
            }

            return messages;
        }
    }

    /// <summary>Results recorded in [from, to) counted by age band, sex, status and decision, read from their result messages.</summary>
    public IReadOnlyList<ResultCount> CountResultsByGroup(string topic, DateTimeOffset from, DateTimeOffset to)
    {
        lock (_lock)
        {
            using var command = Command(
                """
                SELECT json_extract(o.payload, '$.subject.ageBand'), json_extract(o.payload, '$.subject.sex'),
                       json_extract(o.payload, '$.status'), json_extract(o.payload, '$.decision'), COUNT(*)
                FROM outbox o JOIN results r ON r.id = o.message_id
                WHERE o.topic = $topic AND o.created_at >= $from AND o.created_at < $to
                GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
                """,
                null,
                ("$topic", topic),
                ("$from", Iso(from)),
                ("$to", Iso(to)));
            using var reader = command.ExecuteReader();
            var counts = new List<ResultCount>();
            while (reader.Read())
            {
                counts.Add(new ResultCount(
                    reader.IsDBNull(0) ? null : reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.IsDBNull(2) ? "error" : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetInt64(4)));
            }

            return counts;
        }
    }

    /// <summary>Keeps an image's intake features; the first one recorded for a result wins (a restart screens it again).</summary>
    public void RecordDriftSample(DriftSample sample, DateTimeOffset now)
    {
        lock (_lock)
        {
            try
            {
                Execute(
                    _connection,
                    """
                    INSERT OR IGNORE INTO drift_samples(result_id, at, format, width, height, bits_stored, intensity_mean, intensity_std, pixel_spacing_mm, manufacturer, manufacturer_model)
                    VALUES ($id, $at, $format, $w, $h, $bits, $mean, $std, $spacing, $make, $model)
                    """,
                    null,
                    ("$id", sample.ResultId),
                    ("$at", Iso(now)),
                    ("$format", sample.Format),
                    ("$w", sample.Width),
                    ("$h", sample.Height),
                    ("$bits", sample.BitsStored),
                    ("$mean", sample.IntensityMean),
                    ("$std", sample.IntensityStd),
                    ("$spacing", sample.PixelSpacingMm),
                    ("$make", sample.Manufacturer),
                    ("$model", sample.ManufacturerModel));
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not record the intake features of {sample.ResultId}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Drift samples of results recorded in [from, to), with their outcome; samples of images never recorded are left out.</summary>
    public IReadOnlyList<DriftObservation> DriftObservations(DateTimeOffset from, DateTimeOffset to)
    {
        lock (_lock)
        {
            using var command = Command(
                """
                SELECT d.result_id, d.format, d.width, d.height, d.bits_stored, d.intensity_mean, d.intensity_std, d.pixel_spacing_mm,
                       d.manufacturer, d.manufacturer_model, r.status, r.probability, r.referral, r.result_json
                FROM drift_samples d JOIN results r ON r.id = d.result_id
                WHERE r.screened_at >= $from AND r.screened_at < $to ORDER BY r.screened_at
                """,
                null,
                ("$from", Iso(from)),
                ("$to", Iso(to)));
            using var reader = command.ExecuteReader();
            var observations = new List<DriftObservation>();
            while (reader.Read())
            {
                var sample = new DriftSample(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetInt32(2),
                    reader.GetInt32(3),
                    reader.GetInt32(4),
                    reader.GetDouble(5),
                    reader.GetDouble(6),
                    reader.IsDBNull(7) ? null : reader.GetDouble(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9));
                observations.Add(new DriftObservation(sample, reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetDouble(11), reader.IsDBNull(12) ? null : reader.GetString(12), QcCodesOf(reader.GetString(13))));
            }

            return observations;
        }
    }

    /// <summary>Whether any result was recorded in [from, to).</summary>
    public bool HasResultsBetween(DateTimeOffset from, DateTimeOffset to) =>
        Scalar("SELECT COUNT(*) FROM results WHERE screened_at >= $from AND screened_at < $to", ("$from", Iso(from)), ("$to", Iso(to))) > 0;

    private static void MigrateSync(SqliteConnection connection) =>
        Execute(
            connection,
            """
            CREATE TABLE IF NOT EXISTS sync_commands(
                command_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                issued_by TEXT NOT NULL,
                received_at TEXT NOT NULL,
                accepted INTEGER NOT NULL,
                reply_message_id TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS drift_samples(
                result_id TEXT PRIMARY KEY,
                at TEXT NOT NULL,
                format TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                bits_stored INTEGER NOT NULL,
                intensity_mean REAL NOT NULL,
                intensity_std REAL NOT NULL,
                pixel_spacing_mm REAL,
                manufacturer TEXT,
                manufacturer_model TEXT);
            CREATE INDEX IF NOT EXISTS outbox_created ON outbox(topic, created_at);
            CREATE INDEX IF NOT EXISTS results_screened ON results(screened_at);
            """);

    /// <summary>The QC codes from a result's stored line (<c>qc.codes</c>), without a JSON model of the whole line.</summary>
    private static List<string> QcCodesOf(string resultJson)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(resultJson);
            return json.RootElement.TryGetProperty("qc", out var qc) && qc.TryGetProperty("codes", out var codes) && codes.ValueKind == System.Text.Json.JsonValueKind.Array
                ? [.. codes.EnumerateArray().Select(c => c.GetString() ?? "")]
                : [];
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }

    private void InsertOutbox(SqliteTransaction tx, OutboxMessage message, DateTimeOffset now) =>
        Execute(
            _connection,
            "INSERT OR IGNORE INTO outbox(message_id, topic, payload, created_at) VALUES ($mid, $topic, $payload, $at)",
            tx,
            ("$mid", message.MessageId),
            ("$topic", message.Topic),
            ("$payload", message.Payload),
            ("$at", Iso(now)));
}
