using System.Net;

namespace Edge.Dicom.Network;

/// <summary>
/// An object received by C-STORE: a complete Part-10 file at <see cref="TemporaryPath"/>, already flushed to disk.
/// The sink owns the file from the moment it is handed over: it moves it, or leaves it to be deleted on failure.
/// </summary>
public sealed record ReceivedDicomObject(
    string TemporaryPath,
    string SopClassUid,
    string SopInstanceUid,
    string TransferSyntaxUid,
    string CallingAeTitle,
    IPAddress RemoteAddress,
    DateTimeOffset ReceivedAt);

/// <summary>What the sink did with an object; <see cref="DicomScp"/> answers the C-STORE with the matching status.</summary>
public enum StoreOutcome
{
    /// <summary>Durable and visible to the pipeline: status 0000.</summary>
    Stored,

    /// <summary>No room to keep it: status A700, the console may retry later.</summary>
    OutOfResources,

    /// <summary>Could not keep it for another reason: status 0110 (processing failure).</summary>
    Failed,
}

/// <summary>
/// Where received objects go. The whole C-STORE service as the rest of the appliance sees it: make the object durable
/// and visible (an atomic rename into the spool and a registration), then return. No decoding or inference here:
/// the console waits for the answer.
/// </summary>
public interface IDicomStoreSink
{
    /// <summary>Called once per object; the C-STORE response is sent only after this returns.</summary>
    ValueTask<StoreOutcome> AcceptAsync(ReceivedDicomObject received, CancellationToken cancellationToken);
}
