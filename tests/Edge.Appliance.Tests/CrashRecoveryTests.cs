using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Appliance.Tests;

/// <summary>Power cuts and crashes: kill -9 at arbitrary moments, restart, and every image is accounted for exactly once.</summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private const int ImageCount = 30;
    private readonly TempDirectory _temp = new("edge-crash");

    [Fact]
    public async Task Run_KilledRepeatedlyMidRun_EveryImageRecordedExactlyOnce()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var inbox = _temp.Combine("inbox");
        Directory.CreateDirectory(inbox);
        string[] chest = [Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm")];
        var hip = Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm");
        for (var i = 0; i < ImageCount; i++)
        {
            // Every fifth image is the hip, so rejections must survive the crashes too.
            File.Copy(i % 5 == 4 ? hip : chest[i % 2], Path.Combine(inbox, $"img{i:00}.dcm"));
        }

        // Each run is killed once it has made progress, after a random extra delay, so kills land anywhere in the pipeline.
        var random = new Random(20261122);
        var database = _temp.Combine("data", "edge.db");
        for (var round = 0; round < 3; round++)
        {
            var before = CountResults(database);
            await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path);
            await WaitForProgressAsync(database, before, run);
            await Task.Delay(random.Next(0, 400));
            run.Kill();
        }

        Assert.True(CountResults(database) < ImageCount, "The kills came too late to test anything: every image was done before the last one.");

        var final = await PublishedAppliance.RunAsync(_temp.Path, TimeSpan.FromMinutes(3), "run", "--config", config, "--until-idle");
        Assert.True(final.ExitCode == 0, final.Stderr);

        using var db = new SqliteConnection($"Data Source={_temp.Combine("data", "edge.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        var perName = Query(db, "SELECT i.original_name, COUNT(*) FROM results r JOIN images i ON i.id = r.id GROUP BY i.original_name");
        Assert.Equal(Enumerable.Range(0, ImageCount).Select(i => $"img{i:00}.dcm"), perName.Keys.Order());
        Assert.All(perName, p => Assert.Equal(1L, p.Value));
        var perStatus = Query(db, "SELECT status, COUNT(*) FROM results GROUP BY status");
        Assert.Equal(ImageCount / 5, perStatus["Rejected"]);
        Assert.Equal(ImageCount - (ImageCount / 5), perStatus["Screened"]);
        Assert.Equal(ImageCount, Query(db, "SELECT 'outbox', COUNT(DISTINCT message_id) FROM outbox")["outbox"]);
        Assert.Equal(ImageCount, Query(db, "SELECT 'images', COUNT(*) FROM images")["images"]);
        Assert.Empty(Directory.GetFiles(inbox));
        Assert.Empty(Directory.GetFiles(_temp.Combine("data", "spool")));
        Assert.Equal(ImageCount, Directory.GetFiles(_temp.Combine("data", "archive")).Length);
    }

    public void Dispose() => _temp.Dispose();

    private static async Task WaitForProgressAsync(string database, long before, ChildProcess run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (CountResults(database) > before)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No new result after 2 minutes (had {before}). stderr: {run.Stderr}");
    }

    private static long CountResults(string database)
    {
        if (!File.Exists(database))
        {
            return 0;
        }

        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        db.Open();
        try
        {
            return Query(db, "SELECT 'n', COUNT(*) FROM results")["n"];
        }
        catch (SqliteException)
        {
            // The first run may not have created the tables yet.
            return 0;
        }
    }

    private static Dictionary<string, long> Query(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, long>();
        while (reader.Read())
        {
            rows[reader.GetString(0)] = reader.GetInt64(1);
        }

        return rows;
    }
}
