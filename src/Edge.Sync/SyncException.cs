namespace Edge.Sync;

/// <summary>The sync boundary's single failure type: the broker refused, could not be reached, or the TLS material is unusable.</summary>
public sealed class SyncException : Exception
{
    public SyncException(string message)
        : base(message)
    {
    }

    public SyncException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
