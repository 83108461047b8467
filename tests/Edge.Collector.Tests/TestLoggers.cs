using Microsoft.Extensions.Logging;

namespace Edge.Collector.Tests;

/// <summary>Keeps every log line of every category, so a test can fail on any error.</summary>
public sealed class TestLoggers : ILoggerProvider
{
    private readonly List<(LogLevel Level, string Category, string Message)> _lines = [];

    public TestLoggers()
    {
        Factory = LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Debug));
    }

    public ILoggerFactory Factory { get; }

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AssertNoErrors() => Assert.DoesNotContain(Lines, l => l.Level >= LogLevel.Error);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLoggers owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add((logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
            }
        }
    }
}
