using Edge.Domain;
using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>The slip print queue: each job's exact ESC/POS bytes, kept until the printer has them.</summary>
public sealed partial class ScreeningStore : IPrintJournal
{
    public long EnqueuePrintJob(string resultId, byte[] bytes, bool reprint, DateTimeOffset now)
    {
        lock (_lock)
        {
            try
            {
                using var tx = _connection.BeginTransaction();
                using var insert = Command(
                    "INSERT INTO print_jobs(result_id, bytes, reprint, created_at) VALUES ($r, $b, $reprint, $at) RETURNING seq",
                    tx,
                    ("$r", resultId),
                    ("$b", bytes),
                    ("$reprint", reprint ? 1 : 0),
                    ("$at", Iso(now)));
                var sequence = Convert.ToInt64(insert.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                if (reprint)
                {
                    Audit(tx, now, "reprint-requested", resultId, "slip queued again");
                }

                tx.Commit();
                return sequence;
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not queue the slip for {resultId}: {ex.Message}", ex);
            }
        }
    }

    public IReadOnlyList<PrintJob> PendingPrintJobs()
    {
        lock (_lock)
        {
            using var command = Command("SELECT seq, result_id, bytes, reprint, attempts FROM print_jobs WHERE printed_at IS NULL ORDER BY seq", null);
            using var reader = command.ExecuteReader();
            var jobs = new List<PrintJob>();
            while (reader.Read())
            {
                jobs.Add(ReadJob(reader));
            }

            return jobs;
        }
    }

    public void CountPrintAttempt(long sequence)
    {
        lock (_lock)
        {
            Execute(_connection, "UPDATE print_jobs SET attempts = attempts + 1 WHERE seq = $seq", null, ("$seq", sequence));
        }
    }

    /// <summary>Marks the job printed and audits it; marking twice changes nothing.</summary>
    public void MarkPrinted(long sequence, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using var read = Command("SELECT result_id, reprint, attempts FROM print_jobs WHERE seq = $seq AND printed_at IS NULL", tx, ("$seq", sequence));
            using var reader = read.ExecuteReader();
            if (!reader.Read())
            {
                return;
            }

            var resultId = reader.GetString(0);
            var reprint = reader.GetInt32(1) != 0;
            var attempts = reader.GetInt32(2);
            reader.Close();
            Execute(_connection, "UPDATE print_jobs SET printed_at = $at WHERE seq = $seq", tx, ("$at", Iso(now)), ("$seq", sequence));
            Audit(tx, now, reprint ? "slip-reprinted" : "slip-printed", resultId, $"printer took it after {attempts} attempt(s)");
            tx.Commit();
        }
    }

    public PrintJob? LastPrintJob(string? resultId)
    {
        lock (_lock)
        {
            using var command = resultId is null
                ? Command("SELECT seq, result_id, bytes, reprint, attempts FROM print_jobs WHERE reprint = 0 ORDER BY seq DESC LIMIT 1", null)
                : Command("SELECT seq, result_id, bytes, reprint, attempts FROM print_jobs WHERE result_id = $r ORDER BY seq DESC LIMIT 1", null, ("$r", resultId));
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadJob(reader) : null;
        }
    }

    public long CountPrintJobsPending() => Scalar("SELECT COUNT(*) FROM print_jobs WHERE printed_at IS NULL");

    private static PrintJob ReadJob(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetInt32(3) != 0, reader.GetInt32(4));

    private static void MigratePrinting(SqliteConnection connection) => Execute(
        connection,
        """
        CREATE TABLE IF NOT EXISTS print_jobs(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            result_id TEXT NOT NULL,
            bytes BLOB NOT NULL,
            reprint INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            printed_at TEXT);
        CREATE INDEX IF NOT EXISTS print_jobs_pending ON print_jobs(seq) WHERE printed_at IS NULL;
        CREATE INDEX IF NOT EXISTS print_jobs_result ON print_jobs(result_id, seq);
        """);
}
