using Edge.TestSupport;

namespace Edge.Hardware.Tests;

/// <summary>
/// Two linked ptys from socat, standing in for the printer's serial cable: the appliance opens one end, a
/// <see cref="FakeEscPosPrinter"/> the other. Disposing kills socat and removes its links: the printer is unplugged.
/// </summary>
public sealed class PtyPair : IAsyncDisposable
{
    private readonly ChildProcess _socat;

    private PtyPair(ChildProcess socat, string appliancePath, string printerPath)
    {
        _socat = socat;
        AppliancePath = appliancePath;
        PrinterPath = printerPath;
    }

    /// <summary>The end the appliance opens; named tty* so the link opens it as a serial port.</summary>
    public string AppliancePath { get; }

    public string PrinterPath { get; }

    public static async Task<PtyPair> StartAsync(string directory)
    {
        var appliance = Path.Combine(directory, "ttyEdgePrinter");
        var printer = Path.Combine(directory, "ttyFakePrinter");
        var socat = ChildProcess.Start("socat", ["-d", "-d", $"pty,raw,echo=0,link={appliance}", $"pty,raw,echo=0,link={printer}"], directory);
        try
        {
            // socat makes both links before its transfer loop starts; nothing tells us but the files themselves.
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (!(File.Exists(appliance) && File.Exists(printer) && socat.Stderr.Contains("starting data transfer loop", StringComparison.Ordinal)))
            {
                await Task.Delay(10, guard.Token);
            }
        }
        catch (OperationCanceledException)
        {
            await socat.DisposeAsync();
            throw new TimeoutException($"socat made no pty pair: {socat.Stderr}");
        }

        return new PtyPair(socat, appliance, printer);
    }

    public async ValueTask DisposeAsync()
    {
        await _socat.DisposeAsync();

        // Killed, socat leaves its links pointing at pty numbers the next pty anywhere on the machine may reuse.
        File.Delete(AppliancePath);
        File.Delete(PrinterPath);
    }
}
