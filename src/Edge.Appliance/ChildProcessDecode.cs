using System.Diagnostics;
using Edge.Dicom;
using Edge.Domain;

namespace Edge.Appliance;

/// <summary>
/// Decodes one file in a child process of this same executable (the internal verb <see cref="Verb"/>), so a native
/// decoder that aborts takes only the child down. Used only for files whose decode was cut short before.
/// </summary>
public sealed class ChildProcessDecode(string executable, TimeSpan limit) : IIsolatedDecode
{
    public const string Verb = "decode-check";

    /// <summary>The check for the published appliance; null under a host that cannot run the verb (a test runner).</summary>
    public static ChildProcessDecode? ForThisExecutable() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "edge-appliance"
            ? new ChildProcessDecode(path, TimeSpan.FromMinutes(2))
            : null;

    public async Task<bool?> SurvivesAsync(string path, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Verb);
        start.ArgumentList.Add(path);
        using var child = Process.Start(start);
        if (child is null)
        {
            return null;
        }

        var output = Task.WhenAll(child.StandardOutput.ReadToEndAsync(cancellationToken), child.StandardError.ReadToEndAsync(cancellationToken));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            await child.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            return false; // A decoder that hangs is as unusable as one that crashes.
        }

        await output.ConfigureAwait(false);

        // 0: decoded; 1: refused by the reader with a reason. Anything else (128 + signal) is the decoder dying.
        return child.ExitCode is Cli.Ok or Cli.Failed;
    }

    /// <summary>The child's side: decode and exit; a crash ends the process with the signal's status.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        if (files.Count != 1)
        {
            return Cli.Usage;
        }

        try
        {
            await new ImageFileReader().ReadAsync(files[0], cancellationToken).ConfigureAwait(false);
            return Cli.Ok;
        }
        catch (ImageReadException)
        {
            return Cli.Failed;
        }
    }
}
