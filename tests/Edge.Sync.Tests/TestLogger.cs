using Microsoft.Extensions.Logging;

namespace Edge.Sync.Tests;

/// <summary>Keeps every log line so a test can await one and fail on any error.</summary>
public sealed class TestLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Done)> _waits = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        lock (_lines)
        {
            _lines.Add((logLevel, message));
            foreach (var wait in _waits.Where(w => w.Match(message)).ToList())
            {
                _waits.Remove(wait);
                wait.Done.TrySetResult();
            }
        }
    }

    public Task WaitForAsync(Func<string, bool> match)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.Any(l => match(l.Message)))
            {
                return Task.CompletedTask;
            }

            _waits.Add((match, done));
        }

        return done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public void AssertNoErrors() => Assert.DoesNotContain(Lines, l => l.Level >= LogLevel.Error);
}
