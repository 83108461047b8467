using System.Net;
using Microsoft.Extensions.Logging;

namespace Edge.Dicom.Network;

/// <summary>
/// Every log line of the network service. AE titles and addresses identify machines, not people, so they are logged;
/// UIDs only at Debug; nothing from a data set ever.
/// </summary>
internal static partial class NetworkLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "DICOM listener {AeTitle} on {Endpoint}")]
    public static partial void Listening(ILogger logger, string aeTitle, IPEndPoint endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "DICOM listener stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Association from {CallingAe} at {Address} accepted ({Accepted} of {Proposed} presentation contexts)")]
    public static partial void Accepted(ILogger logger, string callingAe, IPAddress address, int accepted, int proposed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Association from {CallingAe} at {Address} to {CalledAe} rejected: {Reason}")]
    public static partial void Rejected(ILogger logger, string callingAe, IPAddress address, string calledAe, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Association from {CallingAe} at {Address} released after {Objects} objects")]
    public static partial void Released(ILogger logger, string callingAe, IPAddress address, int objects);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Association from {CallingAe} at {Address} aborted by us: {Reason}")]
    public static partial void AbortedByUs(ILogger logger, string callingAe, IPAddress address, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Association from {CallingAe} at {Address} aborted by the peer")]
    public static partial void AbortedByPeer(ILogger logger, string callingAe, IPAddress address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection from {CallingAe} at {Address} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string callingAe, IPAddress address, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection from {Address} closed before an association request")]
    public static partial void ClosedBeforeRequest(ILogger logger, IPAddress address);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stored {SopInstanceUid} ({SopClassUid}, {TransferSyntaxUid}) from {CallingAe}")]
    public static partial void Stored(ILogger logger, string sopInstanceUid, string sopClassUid, string transferSyntaxUid, string callingAe);

    [LoggerMessage(Level = LogLevel.Warning, Message = "C-STORE from {CallingAe} at {Address} refused with status {Status:X4}: {Reason}")]
    public static partial void StoreRefused(ILogger logger, string callingAe, IPAddress address, ushort status, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Association from {Address} failed unexpectedly")]
    public static partial void Unexpected(ILogger logger, IPAddress address, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Associations still running after {Timeout}: aborting them")]
    public static partial void StopTimedOut(ILogger logger, TimeSpan timeout);
}
