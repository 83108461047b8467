using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Appliance.Tests;

/// <summary>Power cuts and crashes: kill -9 at arbitrary moments, restart, and every image is accounted for exactly once.</summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private const int ImageCount = 24;
    private readonly TempDirectory _temp = new("edge-crash");

    [Fact]
    public async Task Run_KilledRepeatedlyMidRun_EveryImageRecordedExactlyOnce()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var inbox = _temp.Combine("inbox");
        Directory.CreateDirectory(inbox);
        var chest = Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");
        var hip = Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm");
        for (var i = 0; i < ImageCount; i++)
        {
            // Every fifth image is the hip, so rejections must survive the crashes too.
            File.Copy(i % 5 == 4 ? hip : chest, Path.Combine(inbox, $"img{i:00}.dcm"));
        }

        var random = new Random(20261122);
        var results = _temp.Combine("out", "results.jsonl");
        foreach (var killAfter in new[] { 2, 8, 14 })
        {
            await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path);
            await WaitForLinesAsync(results, killAfter, run);
            await Task.Delay(random.Next(0, 150));
            run.Kill();
        }

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

    private static async Task WaitForLinesAsync(string path, int count, ChildProcess run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path) && File.ReadLines(path).Count() >= count)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"Fewer than {count} results after 2 minutes. stderr: {run.Stderr}");
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
