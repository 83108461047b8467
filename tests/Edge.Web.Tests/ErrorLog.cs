using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Edge.Web.Tests;

/// <summary>Loggers that keep every line (debug and up), so a test can fail on any warning or look for what must never be logged.</summary>
public sealed class ErrorLog : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _entries = new();

    public IEnumerable<string> Problems => _entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Text);

    public IEnumerable<string> All => _entries.Select(e => e.Text);

    public ILoggerFactory Factory() => LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Debug));

    public ILogger CreateLogger(string categoryName) => new Collector(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Collector(string category, ConcurrentQueue<(LogLevel Level, string Text)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((logLevel, $"{logLevel} {category}: {formatter(state, exception)} {exception}"));
    }
}
