using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Edge.Collector;

/// <summary>The collector composed in one place: the store, the MQTT ingest feeding it, and the web page reading it.</summary>
public sealed class CollectorHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly WebApplication? _web;
    private readonly Task _ingestRun;
    private bool _stopped;

    private CollectorHost(ICollectorStore store, MqttIngest ingest, WebApplication? web)
    {
        Store = store;
        Ingest = ingest;
        _web = web;
        _ingestRun = Task.Run(() => ingest.RunAsync(_stop.Token));
    }

    public ICollectorStore Store { get; }

    public MqttIngest Ingest { get; }

    /// <summary>Where the dashboard listens (the bound address, so a configured port 0 reads as the real one); null without web.</summary>
    public Uri? WebAddress { get; private set; }

    /// <summary>PostgreSQL when a connection string is configured, else the SQLite file.</summary>
    public static ICollectorStore OpenStore(CollectorOptions options) =>
        string.IsNullOrWhiteSpace(options.Postgres.ConnectionString) ? new SqliteCollectorStore(options.Sqlite.Path) : new PostgresCollectorStore(options.Postgres.ConnectionString);

    public static async Task<CollectorHost> StartAsync(CollectorOptions options, ILoggerFactory loggers, CancellationToken cancellationToken, TimeProvider? clock = null)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new CollectorException("Configuration problems: " + string.Join(" ", problems));
        }

        clock ??= TimeProvider.System;
        var store = OpenStore(options);
        CollectorHost? host = null;
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            WebApplication? web = null;
            if (!string.IsNullOrWhiteSpace(options.Web.Urls))
            {
                var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
                builder.WebHost.UseUrls(options.Web.Urls);
                builder.Logging.ClearProviders();
                builder.Services.AddSingleton(loggers);
                builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CollectorJsonContext.Default));
                web = builder.Build();
                WebApi.Map(web, store, options, clock);
            }

            var ingest = new MqttIngest(options.Mqtt, store, loggers.CreateLogger("Edge.Collector.Ingest"), clock);
            host = new CollectorHost(store, ingest, web);
            if (web is not null)
            {
                await web.StartAsync(cancellationToken).ConfigureAwait(false);
                var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
                host.WebAddress = address is null ? null : new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
            }

            return host;
        }
        catch
        {
            // A web port already taken, a store that cannot be migrated: nothing is left running behind the exception.
            if (host is not null)
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Runs until cancelled: the ingest loop has its own reconnects; the web server keeps answering meanwhile.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Stops taking messages (what is not committed stays unacknowledged on the broker), then the web page.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _ingestRun.ConfigureAwait(false);
        if (_web is not null)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _web.StopAsync(grace.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_web is not null)
        {
            await _web.DisposeAsync().ConfigureAwait(false);
        }

        await Store.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
