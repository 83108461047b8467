namespace Edge.Storage;

/// <summary>The storage boundary's single failure type: the spool or the database cannot keep what it was given.</summary>
public sealed class StorageException : Exception
{
    public StorageException(string message)
        : base(message)
    {
    }

    public StorageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
