namespace Edge.Dicom.Network;

/// <summary>
/// A C-STORE data set while it arrives: written fragment by fragment behind its meta header into a temporary file,
/// or, once refused, read and dropped. Either way the temporary file never outlives a failure (<see cref="Discard"/>).
/// </summary>
internal sealed class IncomingObject
{
    private FileStream? _file;
    private string? _path;

    public IncomingObject(byte contextId, ushort messageId, string sopClassUid, string sopInstanceUid, string transferSyntax)
    {
        ContextId = contextId;
        MessageId = messageId;
        SopClassUid = sopClassUid;
        SopInstanceUid = sopInstanceUid;
        TransferSyntax = transferSyntax;
    }

    public byte ContextId { get; }

    public ushort MessageId { get; }

    public string SopClassUid { get; }

    public string SopInstanceUid { get; }

    public string TransferSyntax { get; }

    /// <summary>Data set bytes received so far, kept or not.</summary>
    public long Received { get; private set; }

    /// <summary>The status the C-STORE will be answered with when the object cannot be kept.</summary>
    public ushort? RefusedWith { get; private set; }

    public string? RefusalReason { get; private set; }

    public IncomingObject Refuse(ushort status, string reason)
    {
        RefusedWith ??= status;
        RefusalReason ??= reason;
        Discard();
        return this;
    }

    public void Open(string path, byte[] fileMetaInformation)
    {
        _path = path;
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, useAsync: true);
        _file.Write(fileMetaInformation);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> fragment, CancellationToken cancellationToken)
    {
        Received += fragment.Length;
        if (_file is null)
        {
            return;
        }

        try
        {
            await _file.WriteAsync(fragment, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            Refuse(IsDiskFull(ex) ? DimseStatus.OutOfResources : DimseStatus.ProcessingFailure, "writing the temporary file failed: " + ex.Message);
        }
    }

    /// <summary>Flushes the file to the device and closes it; the path, or null if the object was refused meanwhile.</summary>
    public async ValueTask<string?> FinishAsync(CancellationToken cancellationToken)
    {
        if (_file is null || _path is null)
        {
            return null;
        }

        try
        {
            await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
            _file.Flush(flushToDisk: true);
            await _file.DisposeAsync().ConfigureAwait(false);
            _file = null;
            return _path;
        }
        catch (IOException ex)
        {
            Refuse(IsDiskFull(ex) ? DimseStatus.OutOfResources : DimseStatus.ProcessingFailure, "flushing the temporary file failed: " + ex.Message);
            return null;
        }
    }

    /// <summary>Closes and deletes the temporary file if it is still there (after a hand-over the sink has moved it).</summary>
    public void Discard()
    {
        try
        {
            _file?.Dispose();
        }
        catch (IOException)
        {
            // Disk full on the final flush: the file is deleted below anyway.
        }

        _file = null;
        if (_path is not null)
        {
            try
            {
                File.Delete(_path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the sweep at the next start (DicomScp deletes stale temporary files).
            }

            _path = null;
        }
    }

    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) == 28; // ENOSPC
}
