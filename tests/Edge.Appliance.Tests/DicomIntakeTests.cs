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

    public void Dispose() => _temp.Dispose();

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
