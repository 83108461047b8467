using Edge.TestSupport;

namespace Edge.Collector.Tests;

/// <summary>A fact that needs a PostgreSQL server: skipped, saying why, only when the binaries are not installed.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.BinDirectory is null)
        {
            Skip = PostgresServer.MissingMessage;
        }
    }
}

/// <summary>One server for every PostgreSQL test (initdb takes seconds); each test makes its own database.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;
    private int _databases;

    public async Task<string> NewDatabaseAsync()
    {
        _server ??= await PostgresServer.StartAsync();
        return await _server.CreateDatabaseAsync($"collector_{Interlocked.Increment(ref _databases)}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>;
