using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Edge.Faults;

/// <summary>What one storescu association did: the files whose C-STORE was answered Success (with when), and how it ended.</summary>
public sealed record StorescuOutcome(IReadOnlyList<(string File, long At)> Acknowledged, int ExitCode, string Log)
{
    public bool Completed(int files) => ExitCode == 0 && Acknowledged.Count == files;
}

/// <summary>
/// DCMTK storescu as the console: one association per call; each file's C-STORE response is stamped as storescu logs it
/// (it flushes every line), so a sender killed mid-association still tells which files were acknowledged.
/// </summary>
public static class StorescuSession
{
    /// <summary>Every file must be acknowledged: the benchmark's sender, where a failure ends the run.</summary>
    public static async Task<List<(string File, long At)>> SendAsync(string calledAe, int port, string[] options, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var outcome = await TrySendAsync(calledAe, port, options, files, TimeSpan.FromMinutes(20)).ConfigureAwait(false);
        return outcome.Completed(files.Count) ? [.. outcome.Acknowledged] : throw new InvalidOperationException($"storescu to {calledAe} failed ({outcome.ExitCode}):\n{outcome.Log}");
    }

    /// <summary>A console's send: whatever happens to the receiver, says what was acknowledged and never throws for it.</summary>
    public static async Task<StorescuOutcome> TrySendAsync(string calledAe, int port, string[] options, IReadOnlyList<string> files, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(files);
        var info = new ProcessStartInfo("storescu") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-v", "-aec", calledAe, "-aet", "CONSOLE" }.Concat(options).Concat(["127.0.0.1", port.ToString(CultureInfo.InvariantCulture)]).Concat(files))
        {
            info.ArgumentList.Add(argument);
        }

        var stamped = new List<(string File, long At)>();
        var log = new StringBuilder();
        string? current = null;
        using var process = new Process { StartInfo = info };
        void Read(string? line)
        {
            var at = Stopwatch.GetTimestamp();
            if (line is null)
            {
                return;
            }

            lock (stamped)
            {
                log.AppendLine(line);
                if (line.StartsWith("I: Sending file: ", StringComparison.Ordinal))
                {
                    current = line["I: Sending file: ".Length..];
                }
                else if (line.StartsWith("I: Received Store Response (Success)", StringComparison.Ordinal) && current is not null)
                {
                    stamped.Add((current, at));
                    current = null;
                }
            }
        }

        process.ErrorDataReceived += (_, e) => Read(e.Data);
        process.OutputDataReceived += (_, e) => Read(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"storescu did not finish within {timeout}:\n{log}");
        }

        // The exit is seen before the last redirected lines may have been read; WaitForExit() without a limit drains them.
        process.WaitForExit();
        lock (stamped)
        {
            return new StorescuOutcome([.. stamped], process.ExitCode, log.ToString());
        }
    }
}
