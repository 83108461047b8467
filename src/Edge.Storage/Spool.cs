using System.Text;
using Edge.Domain;

namespace Edge.Storage;

/// <summary>
/// Images on disk. An image is in <c>spool/</c> from the moment it is accepted until its result is committed, then in
/// <c>archive/</c>. The file name <c>{id}~{original name}</c> carries everything needed to rebuild the queue after a crash,
/// so accepting an image is a single durable rename.
/// </summary>
public sealed class Spool
{
    private const char Separator = '~';

    public Spool(string root)
    {
        SpoolDirectory = Path.Combine(root, "spool");
        ArchiveDirectory = Path.Combine(root, "archive");
        Directory.CreateDirectory(SpoolDirectory);
        Directory.CreateDirectory(ArchiveDirectory);
    }

    public string SpoolDirectory { get; }

    public string ArchiveDirectory { get; }

    public static string NewId() => Guid.CreateVersion7().ToString("N");

    /// <summary>Copies an image in (the caller keeps its file): data flushed, then renamed into place.</summary>
    public async Task<ReceivedImage> AdmitCopyAsync(Stream content, string originalName, IntakeSource source, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var id = NewId();
        var path = Path.Combine(SpoolDirectory, FileName(id, originalName));
        try
        {
            await Durable.WriteAsync(path, content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException("Could not store an image in the spool: " + WithoutNames(ex.Message, path, originalName), ex);
        }

        return new ReceivedImage(id, path, SafeName(originalName), source, now);
    }

    /// <summary>
    /// Takes an image over by renaming it (watched folder or DICOM receiver on the same file system): it is either still
    /// where it was or in the spool, never in both or neither.
    /// </summary>
    public ReceivedImage AdmitMove(string sourcePath, IntakeSource source, DateTimeOffset now, string? originalName = null)
    {
        var id = NewId();
        originalName ??= Path.GetFileName(sourcePath);
        var path = Path.Combine(SpoolDirectory, FileName(id, originalName));
        try
        {
            Durable.Move(sourcePath, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException("Could not move an image into the spool: " + WithoutNames(ex.Message, sourcePath, path, originalName), ex);
        }

        return new ReceivedImage(id, path, SafeName(originalName), source, now);
    }

    /// <summary>Where an image lives once its result is committed.</summary>
    public string ArchivePathOf(ReceivedImage image) => Path.Combine(ArchiveDirectory, Path.GetFileName(image.SpoolPath));

    public void Archive(ReceivedImage image)
    {
        if (File.Exists(image.SpoolPath))
        {
            Durable.Move(image.SpoolPath, ArchivePathOf(image));
        }
    }

    /// <summary>
    /// Images still waiting, oldest first, after removing temporary files a crash left behind. Source and time are
    /// placeholders: the record holds the real ones for every image it registered.
    /// </summary>
    public IReadOnlyList<ReceivedImage> Waiting()
    {
        foreach (var tmp in Directory.EnumerateFiles(SpoolDirectory, ".tmp-*"))
        {
            File.Delete(tmp);
        }

        return Directory.EnumerateFiles(SpoolDirectory)
            .Select(path => (path, name: Path.GetFileName(path)))
            .Where(f => f.name.IndexOf(Separator, StringComparison.Ordinal) == 32)
            .OrderBy(f => f.name, StringComparer.Ordinal)
            .Select(f => new ReceivedImage(f.name[..32], f.path, f.name[33..], IntakeSource.File, new DateTimeOffset(File.GetLastWriteTimeUtc(f.path), TimeSpan.Zero)))
            .ToList();
    }

    public static string SafeName(string name)
    {
        var builder = new StringBuilder(Math.Min(name.Length, 96));
        foreach (var c in Path.GetFileName(name))
        {
            if (builder.Length == 96)
            {
                break;
            }

            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return builder.Length == 0 ? "image" : builder.ToString();
    }

    private static string FileName(string id, string originalName) => id + Separator + SafeName(originalName);

    /// <summary>
    /// A reason (an exception's message) without an image's paths or name: a file from a console's export or a USB stick
    /// is often named after the patient, the spool keeps that name, and reasons are logged. The folders go too, since a
    /// path may be cut anywhere in a message.
    /// </summary>
    public static string WithoutNames(string reason, params IEnumerable<string> paths)
    {
        var names = paths.SelectMany(p => new[] { p, Path.GetFileName(p), SafeName(p), Path.GetDirectoryName(p) ?? "" }).Where(n => n.Length > 1).Distinct(StringComparer.Ordinal).OrderByDescending(n => n.Length);
        foreach (var name in names)
        {
            reason = reason.Replace(name, "(image)", StringComparison.Ordinal);
        }

        return reason;
    }
}
