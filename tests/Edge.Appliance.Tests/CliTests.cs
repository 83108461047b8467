using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>The published Native AOT binary, driven as a technician or a service manager would.</summary>
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _temp = new("edge-cli");

    [Fact]
    public async Task Version_PublishedBinary_ReportsNativeAot()
    {
        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "version");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^edge-appliance \d+\.\d+\.\d+ \(linux-x64, .* Native AOT\)", result.Stdout);
    }

    [Fact]
    public async Task SelfTest_ValidConfiguration_PassesEveryCheck()
    {
        var config = PublishedAppliance.WriteConfig(_temp);

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "selftest", "--config", config);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        foreach (var check in new[] { "config", "model", "provider", "storage", "hardware", "dicom", "web" })
        {
            Assert.Matches($"(?m)^ok +{check} ", result.Stdout);
        }

        Assert.Contains("signature verified", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CPU", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfTest_ThresholdOutOfRange_NamesTheKeyAndFails()
    {
        var config = PublishedAppliance.WriteConfig(_temp, siteThreshold: 45);

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "selftest", "--config", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL config    Edge:Decision:Threshold is 45", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfTest_TamperedBundle_FailsWithTheRefusal()
    {
        var bundle = CopyBundleTampered();
        var config = PublishedAppliance.WriteConfig(_temp, modelPath: bundle);

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "selftest", "--config", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches("(?m)^FAIL model .*refused", result.Stdout);
    }

    [Fact]
    public async Task Screen_TamperedBundle_RefusesToScreenWithClearMessage()
    {
        var config = PublishedAppliance.WriteConfig(_temp, modelPath: CopyBundleTampered());

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "screen", "--config", config, Repo.ChestDicomSamples[0]);

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Stdout);
        Assert.Contains("Model not loaded", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("sha256", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Screen_Jsonl_GivesEveryFieldForEverySample()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var png = Path.Combine(Repo.Shenzhen, "images", "CHNCXR_0001_0.png");
        var hip = Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm");
        string[] files = [.. Repo.UprightChestDicomSamples, png, .. Repo.InvertedChestDicomSamples, hip];

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, ["screen", "--config", config, "--format", "jsonl", .. files]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(files, lines.Select(l => l.GetProperty("file").GetString()));
        var screened = Repo.UprightChestDicomSamples.Count + 1;
        foreach (var line in lines[..screened])
        {
            Assert.Equal("screened", line.GetProperty("status").GetString());
            Assert.InRange(line.GetProperty("score").GetDouble(), 0, 100);
            Assert.Contains(line.GetProperty("decision").GetString(), new[] { "refer", "no-refer" });
            Assert.InRange(line.GetProperty("threshold").GetDouble(), 0, 100);
            Assert.Equal("bundle", line.GetProperty("thresholdSource").GetString());
            var model = line.GetProperty("model");
            Assert.Equal("tb-cxr", model.GetProperty("name").GetString());
            Assert.Matches("^[0-9a-f]{64}$", model.GetProperty("sha256").GetString());
            Assert.False(string.IsNullOrEmpty(model.GetProperty("version").GetString()));
            Assert.Equal("CPU", line.GetProperty("provider").GetString());
            Assert.Contains(line.GetProperty("qc").GetProperty("verdict").GetString(), new[] { "pass", "warn" });
            var heatmap = line.GetProperty("heatmap").GetString()!;
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(heatmap)[..4]);
            var stages = line.GetProperty("timings").EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(["intake", "series", "quality", "preprocess", "infer", "decide", "record", "pictures", "act"], stages);
        }

        // Each rejection is recorded with the reason the technician needs, and no score.
        var reasons = lines[screened..].Select(l => (Status: l.GetProperty("status").GetString(), Score: l.GetProperty("score").ValueKind, Codes: l.GetProperty("qc").GetProperty("codes").EnumerateArray().Select(c => c.GetString()).ToList())).ToList();
        Assert.All(reasons, r => Assert.Equal(("rejected", JsonValueKind.Null), (r.Status, r.Score)));
        Assert.Contains("polarity-inverted", reasons[0].Codes);
        Assert.Contains("body-part-not-chest", reasons[1].Codes);
    }

    [Fact]
    public async Task Screen_SiteThreshold_DecidesAtItAndAuditsTheChange()
    {
        var config = PublishedAppliance.WriteConfig(_temp, siteThreshold: 0.00001);

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "screen", "--config", config, Repo.UprightChestDicomSamples[0]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var line = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.Equal("site", line.GetProperty("thresholdSource").GetString());
        Assert.Equal(0.001, line.GetProperty("threshold").GetDouble());
        Assert.Equal("refer", line.GetProperty("decision").GetString());
        using var store = Edge.Storage.ScreeningStore.Open(_temp.Combine("data", "edge.db"));
        Assert.StartsWith("0.000010 from site", store.LastAuditDetail("threshold-changed"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Screen_Table_PrintsOneRowPerFileAndASummary()
    {
        var config = PublishedAppliance.WriteConfig(_temp);

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, ["screen", "--config", config, "--format", "table", .. Repo.ChestDicomSamples]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Repo.ChestDicomSamples.Count + 2, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("4 image(s): 3 screened", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 rejected", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("AI triage aid, not a diagnosis.", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Screen_MissingFile_SaysWhichAndExitsWithUsage()
    {
        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "screen", "--config", PublishedAppliance.WriteConfig(_temp), _temp.Combine("nope.dcm"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nope.dcm does not exist", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EmbeddedBroker_EveryResultLeavesTheOutbox()
    {
        var config = PublishedAppliance.WriteConfig(_temp, embeddedBroker: true);
        Directory.CreateDirectory(_temp.Combine("inbox"));
        File.Copy(Repo.UprightChestDicomSamples[0], _temp.Combine("inbox", "a.dcm"));
        File.Copy(Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm"), _temp.Combine("inbox", "b.dcm"));

        var result = await PublishedAppliance.RunAsync(_temp.Path, Timeout, "run", "--config", config, "--until-idle");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("Synced 2 result message(s); 0 waiting in the outbox", result.Stderr, StringComparison.Ordinal);
        using var store = Edge.Storage.ScreeningStore.Open(_temp.Combine("data", "edge.db"));
        Assert.Equal(0, store.CountOutboxPending());
        Assert.Equal(2, store.Audit().Count(a => a.Action == "synced"));
    }

    public void Dispose() => _temp.Dispose();

    private string CopyBundleTampered()
    {
        var target = _temp.Combine("bundle");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(Repo.CurrentBundle))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        File.AppendAllText(Path.Combine(target, "model.onnx"), "tampered");
        return target;
    }
}
