using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>Decode attempts that have started and not yet ended: what a crash inside a native decoder leaves behind.</summary>
public sealed partial class ScreeningStore
{
    /// <summary>
    /// Notes that decoding <paramref name="imageId"/> starts, and returns how many earlier attempts started and never
    /// ended (each one a process that died while decoding). The note is committed before the decoder runs.
    /// </summary>
    public int BeginDecode(string imageId, DateTimeOffset now)
    {
        lock (_lock)
        {
            try
            {
                using var tx = _connection.BeginTransaction();
                using var read = Command("SELECT started FROM decode_attempts WHERE image_id = $id", tx, ("$id", imageId));
                var earlier = Convert.ToInt32(read.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
                Execute(
                    _connection,
                    """
                    INSERT INTO decode_attempts(image_id, started, last_started_at) VALUES ($id, 1, $at)
                    ON CONFLICT(image_id) DO UPDATE SET started = started + 1, last_started_at = $at
                    """,
                    tx,
                    ("$id", imageId),
                    ("$at", Iso(now)));
                tx.Commit();
                return earlier;
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not note the decode of image {imageId}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>The decode ended (decoded, refused or failed, but the process lived): its attempts are forgotten.</summary>
    public void EndDecode(string imageId)
    {
        lock (_lock)
        {
            try
            {
                Execute(_connection, "DELETE FROM decode_attempts WHERE image_id = $id", null, ("$id", imageId));
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not clear the decode of image {imageId}: {ex.Message}", ex);
            }
        }
    }

    private static void MigrateDecodeAttempts(SqliteConnection connection) => Execute(
        connection,
        """
        CREATE TABLE IF NOT EXISTS decode_attempts(
            image_id TEXT PRIMARY KEY,
            started INTEGER NOT NULL,
            last_started_at TEXT NOT NULL);
        """);
}
