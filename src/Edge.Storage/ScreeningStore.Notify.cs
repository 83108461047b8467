namespace Edge.Storage;

/// <summary>
/// Tells readers of the outbox that rows were committed, so a publisher sends a result as soon as it is recorded
/// instead of finding it at its next poll. The poll stays as the safety net: a missed signal only delays, never loses.
/// </summary>
public sealed partial class ScreeningStore
{
    /// <summary>
    /// Raised after a commit that added outbox rows, on the committing thread and while the store is locked:
    /// handlers must only signal (e.g. write to a channel), never block or call back into the store synchronously.
    /// </summary>
    public event Action? OutboxQueued;

    private void RaiseOutboxQueued() => OutboxQueued?.Invoke();
}
