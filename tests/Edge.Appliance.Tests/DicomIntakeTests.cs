using System.Globalization;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Appliance.Tests;

/// <summary>The console's path: DCMTK storescu pushes to the running appliance, which screens what it receives.</summary>
public sealed class DicomIntakeTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-dicom-intake");

    [Fact]
    public async Task Run_ConsolePushesWithStorescu_ScreensRejectsAndSendsSrAndScToThePacs()
    {
        // DCMTK's storescp stands in for the PACS that receives our result objects.
        var pacsPort = Ports.Free();
        var pacsDir = _temp.Combine("pacs");
        Directory.CreateDirectory(pacsDir);
        await using var pacs = ChildProcess.Start("storescp", ["-aet", "PACS", "+xa", "-od", pacsDir, pacsPort.ToString(CultureInfo.InvariantCulture)], _temp.Path);
        await Ports.WaitUntilListeningAsync(pacsPort, pacs);
        var config = PublishedAppliance.WriteConfig(_temp, destination: ("PACS", pacsPort));
        var port = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config)).RootElement.GetProperty("Edge").GetProperty("Dicom").GetProperty("Port").GetInt32();
        await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path);
        await WaitForAsync(() => run.Stderr.Contains("DICOM listener", StringComparison.Ordinal), run);

        // Every shared file, each in its own transfer syntax as a console would send it.
        (string File, string Proposal)[] pushes =
        [
            (Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi"),
            (Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm"), "-xw"),
            (Path.Combine(Repo.SharedDicom, "966_fixed.dcm"), "-xv"),
            (Path.Combine(Repo.SharedDicom, "JPEG2KLossless_1s_1f_u_16_16.dcm"), "-xv"),
            (Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm"), "-xs"),
        ];
        foreach (var (file, proposal) in pushes)
        {
            var store = await ChildProcess.RunAsync("storescu", ["-aec", "EDGE", "-aet", "CONSOLE", proposal, "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), file], TimeSpan.FromMinutes(1));
            Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);
        }

        var database = _temp.Combine("data", "edge.db");
        await WaitForAsync(() => Results(database).Count == pushes.Length, run);
        var results = Results(database);
        Assert.All(results, r => Assert.Equal("DicomStore", r.Source));
        Assert.Equal(["Rejected", "Rejected", "Screened", "Screened", "Screened"], results.Select(r => r.Status).Order());
        Assert.Contains(results, r => r.Reasons == "Body part is HIP, not chest.");
        Assert.Equal(1, results.Count(r => r.Reasons.StartsWith("Image looks inverted", StringComparison.Ordinal) || r.Codes.Contains("polarity-inverted", StringComparison.Ordinal)));

        // One SR and one Secondary Capture per screened image reach the PACS; rejected images get none.
        await WaitForAsync(() => Directory.GetFiles(pacsDir).Length == 6, run);
        var dumps = await Task.WhenAll(Directory.GetFiles(pacsDir).Select(f => ChildProcess.RunAsync("dcmdump", ["-Un", "+P", "0008,0016", f], TimeSpan.FromSeconds(30))));
        Assert.Equal(3, dumps.Count(d => d.Stdout.Contains("1.2.840.10008.5.1.4.1.1.88.33", StringComparison.Ordinal)));
        Assert.Equal(3, dumps.Count(d => d.Stdout.Contains("1.2.840.10008.5.1.4.1.1.7", StringComparison.Ordinal)));
    }

    // A console whose C-STORE response was lost (the appliance restarted between taking the object and answering) sends
    // the object again: acknowledged again, one image, one result.
    [Fact]
    public async Task Run_ConsoleResendsAnObjectAlreadyTaken_AcknowledgedAndScreenedOnce()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var port = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config)).RootElement.GetProperty("Edge").GetProperty("Dicom").GetProperty("Port").GetInt32();
        await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path);
        await WaitForAsync(() => run.Stderr.Contains("DICOM listener", StringComparison.Ordinal), run);
        var chest = Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");
        var database = _temp.Combine("data", "edge.db");
        for (var send = 0; send < 2; send++)
        {
            var store = await ChildProcess.RunAsync("storescu", ["-v", "-aec", "EDGE", "-aet", "CONSOLE", "-xi", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), chest], TimeSpan.FromMinutes(1));
            Assert.True(store.ExitCode == 0 && (store.Stdout + store.Stderr).Contains("Received Store Response (Success)", StringComparison.Ordinal), store.Stdout + store.Stderr);
        }

        // The choice is made before the response, so once storescu has its answer the record already says it.
        await WaitForAsync(() => Results(database).Count >= 1, run);
        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT count(*) FROM images";
        Assert.Equal(1L, (long)count.ExecuteScalar()!);
        Assert.Single(Results(database));
    }

    // A CT series (5 slices, one association) is held until the console has been quiet for the configured period, then
    // recorded once as "not screened: no CT model": one record row, one results line, one audit line; no slice is screened
    // or refused on its own, and every slice is kept in the archive.
    [Fact]
    public async Task Run_ConsolePushesCtSeries_OneNotScreenedSeriesRecordAndEverySliceKept()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var settings = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        settings["Edge"]!["Dicom"]!["CtSeriesQuietPeriod"] = "00:00:01";
        File.WriteAllText(config, settings.ToJsonString());
        var port = settings["Edge"]!["Dicom"]!["Port"]!.GetValue<int>();
        var (study, series) = (GeneratedDicom.NewUid(), GeneratedDicom.NewUid());
        var slices = new List<string>();
        for (var z = 0; z < 5; z++)
        {
            slices.Add(await GeneratedDicom.WriteAsync(_temp.Combine($"slice{z}.dcm"), new DicomImageSpec
            {
                Columns = 64, Rows = 64, Signed = true, SopClass = "CTImageStorage", Modality = "CT",
                Stored = [.. Enumerable.Range(0, 64 * 64).Select(i => (i % 64 * 40) - 1000 + (z * 10))],
                Attributes =
                [
                    "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]", $"(0020,000d) UI [{study}]", $"(0020,000e) UI [{series}]",
                    FormattableString.Invariant($"(0020,0013) IS [{z + 1}]"), "(0018,0015) CS [CHEST]", "(0028,1052) DS [-1024]", "(0028,1053) DS [1]",
                ],
            }));
        }

        await using var run = ChildProcess.Start(PublishedAppliance.Path, ["run", "--config", config], _temp.Path);
        await WaitForAsync(() => run.Stderr.Contains("DICOM listener", StringComparison.Ordinal), run);

        var store = await ChildProcess.RunAsync("storescu", ["-aec", "EDGE", "-aet", "CONSOLE", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), .. slices], TimeSpan.FromMinutes(1));
        Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);

        var database = _temp.Combine("data", "edge.db");
        var archive = _temp.Combine("data", "archive");
        await WaitForAsync(() => Results(database).Count == 1 && Directory.GetFiles(archive).Length == 5 && File.Exists(_temp.Combine("out", "results.jsonl")), run);
        var result = Assert.Single(Results(database));
        Assert.Equal(("DicomStore", "Rejected"), (result.Source, result.Status));
        Assert.Equal("CT series of 5 images: not screened: no CT model installed.", result.Reasons);
        Assert.Equal("[\"ct-no-model\"]", result.Codes);
        Assert.Empty(Directory.GetFiles(_temp.Combine("data", "spool")));
        Assert.Equal(5L, Scalar(database, "SELECT COUNT(*) FROM images"));
        Assert.Equal(1L, Scalar(database, "SELECT COUNT(*) FROM audit WHERE action = 'rejected' AND detail LIKE '%no CT model%'"));
        var line = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(File.ReadAllLines(_temp.Combine("out", "results.jsonl"))))!;
        Assert.Equal("rejected", line["status"]!.GetValue<string>());
        Assert.Equal(5, line["series"]!["images"]!.GetValue<int>());
        Assert.Equal(5, line["series"]!["imageIds"]!.AsArray().Count);
    }

    public void Dispose() => _temp.Dispose();

    private static long Scalar(string database, string sql)
    {
        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static List<(string Source, string Status, string Reasons, string Codes)> Results(string database)
    {
        if (!File.Exists(database))
        {
            return [];
        }

        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT i.source, r.status, json_extract(r.result_json, '$.qc.reasons[0]'), json_extract(r.result_json, '$.qc.codes') FROM results r JOIN images i ON i.id = r.id";
        try
        {
            using var reader = command.ExecuteReader();
            var rows = new List<(string, string, string, string)>();
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? "" : reader.GetString(2), reader.IsDBNull(3) ? "" : reader.GetString(3)));
            }

            return rows;
        }
        catch (SqliteException)
        {
            return [];
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, ChildProcess run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The appliance did not get there in 2 minutes. stderr: " + run.Stderr);
            }

            await Task.Delay(50);
        }
    }
}
