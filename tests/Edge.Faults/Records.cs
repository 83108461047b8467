using System.Text.Json.Nodes;
using Edge.Collector;
using Microsoft.Data.Sqlite;

namespace Edge.Faults;

/// <summary>One result as the appliance recorded it, in the words the synced message carries.</summary>
public sealed record ApplianceResult(string Id, string OriginalName, string Status, string? Decision, IReadOnlyList<string> QcCodes);

/// <summary>One result as the collector stored it.</summary>
public sealed record CollectorResult(string Id, string Status, string? Decision, IReadOnlyList<string> Qc);

/// <summary>The two records an end-to-end fault test compares: the appliance's SQLite and the collector's store.</summary>
public static class Records
{
    /// <summary>Every result in the appliance's record with the name its image came in under; read-only, safe while it runs.</summary>
    public static async Task<List<ApplianceResult>> ReadApplianceAsync(string database)
    {
        var rows = new List<ApplianceResult>();
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT r.id, i.original_name, r.status, r.referral, json_extract(r.result_json, '$.qc.codes') FROM results r JOIN images i ON i.id = r.id";
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var referral = reader.IsDBNull(3) ? null : reader.GetString(3);
            rows.Add(new ApplianceResult(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2).ToLowerInvariant(),
                referral switch { null => null, "Refer" => "refer", "NoRefer" => "no-refer", _ => referral },
                Strings(reader.IsDBNull(4) ? null : reader.GetString(4))));
        }

        return rows;
    }

    /// <summary>Counts in the appliance's record (0 before its tables exist): results, images registered, outbox messages not yet sent.</summary>
    public static (long Results, long Images, long Unsent) CountAppliance(string database)
    {
        if (!File.Exists(database))
        {
            return (0, 0, 0);
        }

        try
        {
            using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT (SELECT count(*) FROM results), (SELECT count(*) FROM images), (SELECT count(*) FROM outbox WHERE sent_at IS NULL)";
            using var reader = command.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        catch (SqliteException)
        {
            // The first start may not have made the tables yet.
            return (0, 0, 0);
        }
    }

    /// <summary>The names images were taken in under, as the appliance registered them.</summary>
    public static List<string> ImageNames(string database)
    {
        var names = new List<string>();
        if (!File.Exists(database))
        {
            return names;
        }

        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT original_name FROM images";
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }
        catch (SqliteException)
        {
            // No tables yet.
        }

        return names;
    }

    /// <summary>Every row of the collector's results table (a second row with one id would show as two entries).</summary>
    public static async Task<List<CollectorResult>> ReadCollectorAsync(string database)
    {
        var rows = new List<CollectorResult>();
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, status, decision, qc FROM results";
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            rows.Add(new CollectorResult(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), Strings(reader.GetString(3))));
        }

        return rows;
    }

    /// <summary>Awaits the collector's commits (an event per batch) until its store holds <paramref name="results"/>.</summary>
    public static Task WaitForStoredAsync(CollectorHost host, long results, TimeSpan limit, Func<string>? diagnostics = null) =>
        WaitForStoreAsync(
            host,
            async store => (await store.TotalsAsync(CancellationToken.None).ConfigureAwait(false)).Results >= results,
            limit,
            async () => $"the collector stored {(await host.Store.TotalsAsync(CancellationToken.None).ConfigureAwait(false)).Results} of {results}; {diagnostics?.Invoke()}");

    /// <summary>
    /// Awaits the collector's commits (an event per batch) until its store satisfies <paramref name="condition"/>;
    /// past <paramref name="limit"/>, a <see cref="TimeoutException"/> carrying <paramref name="describe"/>'s account.
    /// </summary>
    public static async Task WaitForStoreAsync(CollectorHost host, Func<ICollectorStore, Task<bool>> condition, TimeSpan limit, Func<Task<string>> describe)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(describe);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async void Check(WriteOutcome _)
        {
            try
            {
                if (await condition(host.Store).ConfigureAwait(false))
                {
                    done.TrySetResult();
                }
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }

        host.Ingest.Committed += Check;
        try
        {
            Check(new WriteOutcome(0, 0, 0));
            await done.Task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(await describe().ConfigureAwait(false));
        }
        finally
        {
            host.Ingest.Committed -= Check;
        }
    }

    private static List<string> Strings(string? json) =>
        json is null ? [] : [.. (JsonNode.Parse(json)?.AsArray() ?? []).Select(n => n!.GetValue<string>())];
}
