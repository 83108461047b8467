using System.Text;
using Edge.Storage;

namespace Edge.Dicom.Network;

/// <summary>
/// Keeps received objects in one folder with the spool's discipline: the file is already flushed, it is renamed into
/// place (atomic on one file system) and the folder entry is flushed, so a success status is never sent for an object
/// a power cut could lose. Names are <c>{SOP Instance UID}.dcm</c>, so a re-sent object replaces its earlier copy.
/// The appliance wires its own sink over <c>Edge.Storage.Spool</c>; this one serves tests and simple deployments.
/// </summary>
public sealed class SpoolingStoreSink : IDicomStoreSink
{
    public SpoolingStoreSink(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
    }

    public string Directory { get; }

    public ValueTask<StoreOutcome> AcceptAsync(ReceivedDicomObject received, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(received);
        cancellationToken.ThrowIfCancellationRequested();
        var target = Path.Combine(Directory, SafeFileName(received.SopInstanceUid) + ".dcm");
        try
        {
            File.Move(received.TemporaryPath, target, overwrite: true);
            Durable.FsyncDirectory(Directory);
            return ValueTask.FromResult(StoreOutcome.Stored);
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            return ValueTask.FromResult(StoreOutcome.OutOfResources);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ValueTask.FromResult(StoreOutcome.Failed);
        }
    }

    /// <summary>UIDs are digits and dots, but the value comes from the network: anything else cannot reach the path.</summary>
    private static string SafeFileName(string uid)
    {
        var builder = new StringBuilder(uid.Length);
        foreach (var c in uid.AsSpan(0, Math.Min(uid.Length, 64)))
        {
            builder.Append(char.IsAsciiDigit(c) || c == '.' ? c : '_');
        }

        return builder.Length == 0 || builder[0] == '.' ? "_" + builder : builder.ToString();
    }

    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) == 28; // ENOSPC
}
