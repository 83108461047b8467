using System.Globalization;
using Edge.TestSupport;

namespace Edge.Benchmarks;

/// <summary>What every benchmark needs: percentiles, peak memory, and a report printed and kept under out/bench/.</summary>
public static class Measure
{
    /// <summary>Linear interpolation between closest ranks.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double q)
    {
        var sorted = values.Order().ToList();
        var rank = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    /// <summary>This process's peak resident set (VmHWM).</summary>
    public static double PeakRssMiB()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public static async Task PublishAsync(string fileName, string report)
    {
        Console.Write(report);
        var path = Path.Combine(Repo.Root, "out", "bench", fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, report);
        Console.WriteLine($"Written to {path}");
    }
}
