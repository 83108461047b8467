using Microsoft.Data.Sqlite;

namespace Edge.Storage;

/// <summary>
/// Objects a console sends again: a C-STORE whose response was lost (the appliance restarted between taking the object
/// and answering) is resent under the same SOP Instance UID, and must not become a second screening.
/// </summary>
public sealed partial class ScreeningStore
{
    /// <summary>
    /// Whether an image was already taken in under <paramref name="originalName"/> (a received object's is its SOP
    /// Instance UID), whether registered at intake or by restart recovery.
    /// </summary>
    public bool HasImageNamed(string originalName)
    {
        lock (_lock)
        {
            try
            {
                using var read = Command("SELECT 1 FROM images WHERE original_name = $name LIMIT 1", null, ("$name", originalName));
                return read.ExecuteScalar() is not null;
            }
            catch (SqliteException ex)
            {
                throw new StorageException($"Could not look up an image by name: {ex.Message}", ex);
            }
        }
    }

    private static void MigrateResend(SqliteConnection connection) => Execute(
        connection,
        "CREATE INDEX IF NOT EXISTS images_original_name ON images(original_name);");
}
