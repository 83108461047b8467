using System.Globalization;
using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Appliance.Tests;

/// <summary>
/// The data folder on a small tmpfs, mounted in a private mount namespace of the appliance's own process (unshare -m), so
/// the mount ends with the process whatever happens to the test; the test reaches it through /proc/PID/root.
/// </summary>
public sealed class DiskFloorTests : IDisposable
{
    private const int TmpfsMb = 64;
    private const int FloorMb = 40;
    private readonly TempDirectory _temp = new("edge-disk-floor");

    [RootFact]
    public async Task Run_PushesCrossTheFreeDiskFloor_RefusedA700NothingHalfWrittenAndRecoversWhenSpaceReturns()
    {
        var config = PublishedAppliance.WriteConfig(_temp);
        var port = JsonDocument.Parse(File.ReadAllText(config)).RootElement.GetProperty("Edge").GetProperty("Dicom").GetProperty("Port").GetInt32();
        var data = _temp.Combine("data");
        Directory.CreateDirectory(data);
        await using var run = ChildProcess.Start(
            "unshare",
            ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=" + TmpfsMb + "m tmpfs \"$0\" && exec \"$@\"", data, PublishedAppliance.Path, "run", "--config", config],
            _temp.Path,
            new Dictionary<string, string> { ["Edge__Dicom__FreeDiskFloorMb"] = FloorMb.ToString(CultureInfo.InvariantCulture) });
        await WaitForAsync(() => run.Stderr.Contains("DICOM listener", StringComparison.Ordinal), run);
        var mounted = $"/proc/{run.Id}/root{data}";
        Assert.Equal(TmpfsMb * 1024L * 1024, new DriveInfo(mounted).TotalSize);

        // Well above the floor: screened.
        var chest = Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");
        Assert.Contains("Received Store Response (Success)", await PushAsync(port, chest, "-xi"), StringComparison.Ordinal);
        await WaitForAsync(() => Results().Count == 1, run);

        // Ballast leaves 2 MiB above the floor; the next push (4 MiB) is still taken, and it is what crosses the floor.
        var ballast = Path.Combine(mounted, "ballast");
        await File.WriteAllBytesAsync(ballast, new byte[new DriveInfo(mounted).AvailableFreeSpace - ((FloorMb + 2) * 1024L * 1024)]);
        var large = Path.Combine(Repo.SharedDicom, "966_fixed.dcm");
        Assert.Contains("Received Store Response (Success)", await PushAsync(port, large, "-xv"), StringComparison.Ordinal);
        await WaitForAsync(() => Results().Count == 2, run);
        Assert.True(new DriveInfo(mounted).AvailableFreeSpace < FloorMb * 1024L * 1024, "the second push should have crossed the floor");

        // Under the floor: refused with A700 before a byte is written, and the appliance keeps going.
        var refused = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        var refusal = await PushAsync(port, refused, "-xw");
        Assert.Contains("Received Store Response (Refused: OutOfResources)", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("Success", refusal, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(mounted, "incoming")));
        Assert.Empty(Directory.GetFiles(mounted, ".tmp-*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(mounted, "spool")));
        Assert.Equal(2, Results().Count);

        // The earlier images are kept whole in the archive (their data sets end the files byte for byte) and were screened or rejected with a reason.
        var archived = Directory.GetFiles(Path.Combine(mounted, "archive"));
        Assert.Equal(2, archived.Length);
        foreach (var source in new[] { chest, large })
        {
            var tail = File.ReadAllBytes(source)[^(256 * 1024)..];
            Assert.Single(archived, a => File.ReadAllBytes(a).AsSpan().EndsWith(tail));
        }

        var first = Results();
        Assert.Equal("screened", first[0].Status);
        Assert.Equal("rejected", first[1].Status);
        Assert.NotEmpty(first[1].Reasons);

        // Space returns: the same image is taken and screened.
        File.Delete(ballast);
        Assert.Contains("Received Store Response (Success)", await PushAsync(port, refused, "-xw"), StringComparison.Ordinal);
        await WaitForAsync(() => Results().Count == 3, run);
        Assert.Equal("screened", Results()[2].Status);
        Assert.Empty(Directory.GetFiles(Path.Combine(mounted, "incoming")));
        Assert.Empty(Directory.GetFiles(mounted, ".tmp-*", SearchOption.AllDirectories));
    }

    public void Dispose() => _temp.Dispose();

    private static async Task<string> PushAsync(int port, string file, string proposal)
    {
        var store = await ChildProcess.RunAsync("storescu", ["-v", "-aec", "EDGE", "-aet", "CONSOLE", proposal, "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), file], TimeSpan.FromMinutes(1));
        return store.Stdout + store.Stderr;
    }

    /// <summary>results.jsonl in order (it lives outside the small mount, in the output folder).</summary>
    private List<(string Status, List<string> Reasons)> Results()
    {
        var path = _temp.Combine("out", "results.jsonl");
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var rows = new List<(string, List<string>)>();
        while (reader.ReadLine() is { } line && line.EndsWith('}'))
        {
            using var json = JsonDocument.Parse(line);
            rows.Add((json.RootElement.GetProperty("status").GetString()!, [.. json.RootElement.GetProperty("qc").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)]));
        }

        return rows;
    }

    private static async Task WaitForAsync(Func<bool> condition, ChildProcess run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline || run.HasExited)
            {
                throw new TimeoutException("The appliance did not get there in 2 minutes. stderr: " + run.Stderr);
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>A test that mounts a file system: it needs a private mount namespace and tmpfs mounts (root), else it is skipped, saying why.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> CanMount = new(() =>
    {
        try
        {
            // The same command the test runs, on a throwaway folder: a container without CAP_SYS_ADMIN fails here.
            var probe = Path.Combine(Path.GetTempPath(), "edge-mount-probe-" + Environment.ProcessId);
            Directory.CreateDirectory(probe);
            var result = ChildProcess.RunAsync("unshare", ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$0\"", probe], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            Directory.Delete(probe);
            return result.ExitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    });

    public RootFactAttribute()
    {
        if (!CanMount.Value)
        {
            Skip = "Skipped: mounting a small tmpfs in a private mount namespace (unshare -m, mount -t tmpfs) is not permitted here; it needs root.";
        }
    }
}
