namespace Edge.Dicom.Network;

/// <summary>Why the service provider aborts (A-ABORT source 2, PS3.8 9.3.8).</summary>
public enum AbortReason : byte
{
    NotSpecified = 0,
    UnrecognizedPdu = 1,
    UnexpectedPdu = 2,
    UnrecognizedPduParameter = 4,
    UnexpectedPduParameter = 5,
    InvalidPduParameterValue = 6,
}

/// <summary>
/// The one exception of the DICOM network boundary: the peer broke the protocol, timed out, or refused us.
/// Caught at the association's edge, where it becomes an A-ABORT and a log line; it never reaches the listener.
/// Messages hold no patient data.
/// </summary>
public sealed class DicomNetworkException : Exception
{
    public DicomNetworkException(string message, AbortReason reason = AbortReason.NotSpecified, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    public DicomNetworkException()
        : this("DICOM protocol error.")
    {
    }

    public DicomNetworkException(string message)
        : this(message, AbortReason.NotSpecified)
    {
    }

    public DicomNetworkException(string message, Exception innerException)
        : this(message, AbortReason.NotSpecified, innerException)
    {
    }

    /// <summary>What the A-ABORT we send says, when we are the side that aborts.</summary>
    public AbortReason Reason { get; }
}
