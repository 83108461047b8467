using System.Runtime.InteropServices;

namespace Edge.Storage;

/// <summary>
/// File operations that survive power loss: data is flushed to the device before a rename makes it visible,
/// and the directory entry itself is flushed after the rename.
/// </summary>
public static partial class Durable
{
    public static async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        var tmp = Path.Combine(Path.GetDirectoryName(path)!, ".tmp-" + Path.GetFileName(path));
        try
        {
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(tmp, path);
            FsyncDirectory(Path.GetDirectoryName(path)!);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>Renames within one file system (atomic) and flushes both directories.</summary>
    public static void Move(string from, string to)
    {
        File.Move(from, to);
        FsyncDirectory(Path.GetDirectoryName(to)!);
        var fromDir = Path.GetDirectoryName(from)!;
        if (!string.Equals(fromDir, Path.GetDirectoryName(to), StringComparison.Ordinal))
        {
            FsyncDirectory(fromDir);
        }
    }

    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the start-up sweep of temporary files.
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
