using System.Threading.Channels;

namespace Edge.Web;

/// <summary>What changed, for the pages listening on server-sent events: <c>result</c>, <c>lights</c>, <c>threshold</c>.</summary>
public readonly record struct LiveEvent(string Kind, string? Id = null);

/// <summary>
/// Fans events out to every open page. Each listener has a small buffer that drops its oldest event when full: a page
/// only refetches on an event, so a stalled tablet must not hold memory or slow the pipeline that publishes.
/// </summary>
public sealed class LiveUpdates
{
    private readonly Lock _lock = new();
    private readonly List<Channel<LiveEvent>> _listeners = [];

    public int ListenerCount
    {
        get
        {
            lock (_lock)
            {
                return _listeners.Count;
            }
        }
    }

    /// <summary>A result was recorded and acted upon.</summary>
    public void ResultSettled(string id) => Publish(new LiveEvent("result", id));

    public void Publish(LiveEvent e)
    {
        lock (_lock)
        {
            foreach (var listener in _listeners)
            {
                listener.Writer.TryWrite(e);
            }
        }
    }

    public async IAsyncEnumerable<LiveEvent> ListenAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            _listeners.Add(channel);
        }

        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            lock (_lock)
            {
                _listeners.Remove(channel);
            }
        }
    }
}
