using System.Globalization;
using Edge.Domain;
using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>Which results the worklist shows.</summary>
public sealed record WorklistQuery(string? Outcome = null, bool UnacknowledgedOnly = false, DateTimeOffset? Since = null, int Limit = 200);

/// <summary>
/// One worklist line. <see cref="ExamReference"/> (accession, else patient ID) is PHI: it goes to the local page only,
/// never to logs or the province.
/// </summary>
public sealed record WorklistEntry(
    string Id,
    DateTimeOffset ScreenedAt,
    string? ExamReference,
    string Status,
    string? Referral,
    double? Probability,
    double? Threshold,
    string? ThresholdSource,
    string QcVerdict,
    string? Error,
    string ResultJson,
    string? AcknowledgedBy,
    DateTimeOffset? AcknowledgedAt,
    string? ConfirmedOutcome,
    string? ConfirmedBy);

/// <summary>A result with what the detail view needs besides the worklist line: model, heatmap, where the image is archived.</summary>
public sealed record ResultDetail(WorklistEntry Entry, string? ModelName, string? ModelVersion, string? ModelSha256, string? Provider, float[]? Heatmap, int HeatmapWidth, int HeatmapHeight, string ImagePath);

/// <summary>Today's tally for the worklist header.</summary>
public sealed record ResultCounts(long Total, long Refer, long NoRefer, long NotScreened, long Unacknowledged);

/// <summary>A confirmed outcome recorded for a screened case (sputum smear or Xpert).</summary>
public sealed record ConfirmedOutcome(string ResultId, bool Positive, ConfirmatoryTest Test, string RecordedBy, DateTimeOffset RecordedAt);

/// <summary>The technician's page: worklist, acknowledgement and confirmed outcomes (its threshold: ScreeningStore.Threshold.cs).</summary>
public sealed partial class ScreeningStore
{
    private const string EntryColumns = """
        r.id, r.screened_at, COALESCE(NULLIF(r.accession, ''), NULLIF(r.patient_id, '')), r.status, r.referral, r.probability, r.threshold,
        r.threshold_source, r.qc_verdict, r.error, r.result_json, r.acknowledged_by, r.acknowledged_at, o.outcome, o.recorded_by
        """;

    public IReadOnlyList<WorklistEntry> Worklist(WorklistQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new List<string>();
        var parameters = new List<(string, object?)> { ("$limit", query.Limit) };
        switch (query.Outcome)
        {
            case "refer":
                where.Add("r.referral = 'Refer'");
                break;
            case "no-refer":
                where.Add("r.referral = 'NoRefer'");
                break;
            case "not-screened":
                where.Add("r.status <> 'Screened'");
                break;
        }

        if (query.UnacknowledgedOnly)
        {
            where.Add("r.acknowledged_at IS NULL");
        }

        if (query.Since is { } since)
        {
            where.Add("r.screened_at >= $since");
            parameters.Add(("$since", Iso(since)));
        }

        var sql = $"SELECT {EntryColumns} FROM results r LEFT JOIN confirmed_outcomes o ON o.result_id = r.id"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
            + " ORDER BY r.screened_at DESC, r.id DESC LIMIT $limit";
        lock (_lock)
        {
            using var command = Command(sql, null, [.. parameters]);
            using var reader = command.ExecuteReader();
            var entries = new List<WorklistEntry>();
            while (reader.Read())
            {
                entries.Add(ReadEntry(reader, 0));
            }

            return entries;
        }
    }

    public ResultDetail? Detail(string id)
    {
        lock (_lock)
        {
            using var command = Command(
                $"SELECT {EntryColumns}, r.model_name, r.model_version, r.model_sha256, r.provider, r.heatmap, r.heatmap_width, r.heatmap_height, r.image_path FROM results r LEFT JOIN confirmed_outcomes o ON o.result_id = r.id WHERE r.id = $id",
                null,
                ("$id", id));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            const int next = 15;
            float[]? heatmap = null;
            if (!reader.IsDBNull(next + 4))
            {
                var bytes = (byte[])reader.GetValue(next + 4);
                heatmap = new float[bytes.Length / sizeof(float)];
                Buffer.BlockCopy(bytes, 0, heatmap, 0, heatmap.Length * sizeof(float));
            }

            return new ResultDetail(
                ReadEntry(reader, 0),
                NullableString(reader, next),
                NullableString(reader, next + 1),
                NullableString(reader, next + 2),
                NullableString(reader, next + 3),
                heatmap,
                reader.IsDBNull(next + 5) ? 0 : reader.GetInt32(next + 5),
                reader.IsDBNull(next + 6) ? 0 : reader.GetInt32(next + 6),
                reader.GetString(next + 7));
        }
    }

    public ResultCounts Counts(DateTimeOffset since)
    {
        lock (_lock)
        {
            using var command = Command(
                """
                SELECT COUNT(*),
                    COALESCE(SUM(referral = 'Refer'), 0),
                    COALESCE(SUM(referral = 'NoRefer'), 0),
                    COALESCE(SUM(status <> 'Screened'), 0),
                    COALESCE(SUM(acknowledged_at IS NULL AND (referral = 'Refer' OR status <> 'Screened')), 0)
                FROM results WHERE screened_at >= $since
                """,
                null,
                ("$since", Iso(since)));
            using var reader = command.ExecuteReader();
            reader.Read();
            return new ResultCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        }
    }

    /// <summary>
    /// Records who acknowledged a result, with an audit line. Returns false, changing nothing, when the result does not
    /// exist or was already acknowledged (the first acknowledgement stands).
    /// </summary>
    public bool Acknowledge(string id, string initials, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            var changed = Execute(
                _connection,
                "UPDATE results SET acknowledged_at = $at, acknowledged_by = $by WHERE id = $id AND acknowledged_at IS NULL",
                tx,
                ("$at", Iso(now)),
                ("$by", initials),
                ("$id", id));
            if (changed == 0)
            {
                return false;
            }

            Audit(tx, now, "acknowledged", id, $"by {initials} on the page");
            tx.Commit();
            return true;
        }
    }

    /// <summary>Whether a refer result newer than this one still waits for acknowledgement (its light must stay on).</summary>
    public bool HasNewerUnacknowledgedRefer(string id) =>
        Scalar("SELECT COUNT(*) FROM results WHERE referral = 'Refer' AND acknowledged_at IS NULL AND id > $id", ("$id", id)) > 0;

    /// <summary>Records (or corrects) the confirmed outcome of a screened case, audited. False when the case was not screened.</summary>
    public bool RecordOutcome(ConfirmedOutcome outcome, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using (var check = Command("SELECT COUNT(*) FROM results WHERE id = $id AND status = 'Screened'", tx, ("$id", outcome.ResultId)))
            {
                if (Convert.ToInt64(check.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
                {
                    return false;
                }
            }

            var value = outcome.Positive ? "positive" : "negative";
            Execute(
                _connection,
                """
                INSERT INTO confirmed_outcomes(result_id, outcome, test, recorded_by, recorded_at) VALUES ($id, $outcome, $test, $by, $at)
                ON CONFLICT(result_id) DO UPDATE SET outcome = excluded.outcome, test = excluded.test, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at
                """,
                tx,
                ("$id", outcome.ResultId),
                ("$outcome", value),
                ("$test", outcome.Test.ToString().ToLowerInvariant()),
                ("$by", outcome.RecordedBy),
                ("$at", Iso(outcome.RecordedAt)));
            Audit(tx, now, "outcome-confirmed", outcome.ResultId, $"{outcome.Test.ToString().ToLowerInvariant()} {value} by {outcome.RecordedBy}");
            tx.Commit();
            return true;
        }
    }

    /// <summary>Every screened case with a confirmed outcome: its score and whether TB was found.</summary>
    public IReadOnlyList<CalibrationCase> CalibrationCases()
    {
        lock (_lock)
        {
            using var command = Command("SELECT r.probability, o.outcome FROM results r JOIN confirmed_outcomes o ON o.result_id = r.id WHERE r.status = 'Screened' AND r.probability IS NOT NULL ORDER BY r.id", null);
            using var reader = command.ExecuteReader();
            var cases = new List<CalibrationCase>();
            while (reader.Read())
            {
                cases.Add(new CalibrationCase(reader.GetDouble(0), reader.GetString(1) == "positive"));
            }

            return cases;
        }
    }

    /// <summary>When the broker last acknowledged a message, or null.</summary>
    public DateTimeOffset? LastOutboxSentAt()
    {
        lock (_lock)
        {
            using var command = Command("SELECT MAX(sent_at) FROM outbox", null);
            return command.ExecuteScalar() is string at ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture) : null;
        }
    }

    private static void MigrateWeb(SqliteConnection connection) => Execute(
        connection,
        """
        CREATE TABLE IF NOT EXISTS confirmed_outcomes(
            result_id TEXT PRIMARY KEY REFERENCES results(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('positive', 'negative')),
            test TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            recorded_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS results_screened_at ON results(screened_at);
        """);

    private static WorklistEntry ReadEntry(SqliteDataReader reader, int at) => new(
        reader.GetString(at),
        DateTimeOffset.Parse(reader.GetString(at + 1), CultureInfo.InvariantCulture),
        NullableString(reader, at + 2),
        reader.GetString(at + 3),
        NullableString(reader, at + 4),
        reader.IsDBNull(at + 5) ? null : reader.GetDouble(at + 5),
        reader.IsDBNull(at + 6) ? null : reader.GetDouble(at + 6),
        NullableString(reader, at + 7),
        reader.GetString(at + 8),
        NullableString(reader, at + 9),
        reader.GetString(at + 10),
        NullableString(reader, at + 11),
        reader.IsDBNull(at + 12) ? null : DateTimeOffset.Parse(reader.GetString(at + 12), CultureInfo.InvariantCulture),
        NullableString(reader, at + 13),
        NullableString(reader, at + 14));

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
