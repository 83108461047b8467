using System.Globalization;
using Edge.Domain;
using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>
/// A change of the run-time threshold as the record keeps it: set (an override bound to a model) or clear. Both are
/// appended; the newest row is the one in force. <see cref="AuditDetail"/> is the <c>threshold-changed</c> audit line
/// written with it, describing the threshold in force afterwards.
/// </summary>
public abstract record ThresholdChange(string AuditDetail)
{
    public sealed record Set(ThresholdOverride Override, string AuditDetail) : ThresholdChange(AuditDetail);

    /// <summary>Back to the configured or bundle threshold; who, from where and why, as for a set.</summary>
    public sealed record Clear(string ModelSha256, DateTimeOffset At, string ClearedBy, string Origin, string Detail, string AuditDetail) : ThresholdChange(AuditDetail);
}

/// <summary>One row of the threshold history; <see cref="Threshold"/> is null for a clear.</summary>
public sealed record ThresholdHistoryEntry(double? Threshold, string ModelSha256, DateTimeOffset AppliedAt, string AppliedBy, string Origin, string Detail);

/// <summary>
/// The run-time threshold, whoever changes it (the site's calibration on the page, the programme's command): one
/// append-only table, each change written with its <c>threshold-changed</c> audit line in one transaction.
/// </summary>
public sealed partial class ScreeningStore
{
    /// <summary>
    /// Records a threshold change and its audit line, with any messages for the province, in one transaction. The
    /// programme's commands go through <see cref="RecordCommand"/> instead, which writes the change in the command's transaction.
    /// </summary>
    public void RecordThresholdChange(ThresholdChange change, IReadOnlyList<OutboxMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(messages);
        lock (_lock)
        {
            try
            {
                using var tx = _connection.BeginTransaction();
                InsertThresholdChange(tx, change);
                foreach (var message in messages)
                {
                    InsertOutbox(tx, message, AtOf(change));
                }

                tx.Commit();
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not record the threshold change: {ex.Message}", ex);
            }
        }
    }

    /// <summary>The newest override, or null when none was set or the newest change cleared it. The caller checks its model.</summary>
    public ThresholdOverride? CurrentThresholdOverride()
    {
        var newest = ThresholdHistory(1);
        return newest is [{ Threshold: { } threshold } row] ? new ThresholdOverride(threshold, row.ModelSha256, row.AppliedAt, row.AppliedBy, row.Origin, row.Detail) : null;
    }

    /// <summary>The newest threshold changes first.</summary>
    public IReadOnlyList<ThresholdHistoryEntry> ThresholdHistory(int limit = 100)
    {
        lock (_lock)
        {
            using var command = Command("SELECT threshold, model_sha256, applied_at, applied_by, origin, detail FROM threshold_overrides ORDER BY seq DESC LIMIT $limit", null, ("$limit", limit));
            using var reader = command.ExecuteReader();
            var rows = new List<ThresholdHistoryEntry>();
            while (reader.Read())
            {
                rows.Add(new ThresholdHistoryEntry(
                    reader.IsDBNull(0) ? null : reader.GetDouble(0),
                    reader.GetString(1),
                    DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.GetString(5)));
            }

            return rows;
        }
    }

    private void InsertThresholdChange(SqliteTransaction tx, ThresholdChange change)
    {
        var (threshold, sha, by, origin, detail) = change switch
        {
            ThresholdChange.Set s => ((double?)s.Override.Threshold, s.Override.ModelSha256, s.Override.AppliedBy, s.Override.Origin, s.Override.Detail),
            ThresholdChange.Clear c => (null, c.ModelSha256, c.ClearedBy, c.Origin, c.Detail),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, "Not a threshold change."),
        };
        var at = AtOf(change);
        Execute(
            _connection,
            "INSERT INTO threshold_overrides(threshold, model_sha256, applied_at, applied_by, origin, detail) VALUES ($t, $sha, $at, $by, $origin, $detail)",
            tx,
            ("$t", threshold),
            ("$sha", sha),
            ("$at", Iso(at)),
            ("$by", by),
            ("$origin", origin),
            ("$detail", detail));
        Audit(tx, at, "threshold-changed", "decision", change.AuditDetail);
    }

    private static DateTimeOffset AtOf(ThresholdChange change) => change switch
    {
        ThresholdChange.Set s => s.Override.AppliedAt,
        ThresholdChange.Clear c => c.At,
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, "Not a threshold change."),
    };

    private static void MigrateThreshold(SqliteConnection connection)
    {
        Execute(
            connection,
            """
            CREATE TABLE IF NOT EXISTS threshold_overrides(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                threshold REAL CHECK (threshold IS NULL OR (threshold > 0 AND threshold < 1)),
                model_sha256 TEXT NOT NULL,
                applied_at TEXT NOT NULL,
                applied_by TEXT NOT NULL,
                origin TEXT NOT NULL,
                detail TEXT NOT NULL);
            """);

        // An earlier firmware kept only the programme's threshold, in one slot: carried over as the first history row.
        using var legacy = new SqliteCommand("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'threshold_override'", connection);
        if (Convert.ToInt64(legacy.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
        {
            using var tx = connection.BeginTransaction();
            Execute(
                connection,
                """
                INSERT INTO threshold_overrides(threshold, model_sha256, applied_at, applied_by, origin, detail)
                SELECT threshold, model_sha256, applied_at, issued_by, 'programme', command_id FROM threshold_override;
                DROP TABLE threshold_override;
                """,
                tx);
            tx.Commit();
        }
    }
}
