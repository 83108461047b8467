using System.Globalization;
using Edge.Domain;

namespace Edge.Hardware;

/// <summary>
/// Stands in for the light tower where there is none: keeps the current state for the page and appends every change,
/// time-stamped, to a log (the demo's <c>lights.log</c>).
/// </summary>
public sealed class SimulatedStatusLights : IStatusLights
{
    private readonly string? _logPath;
    private readonly Lock _lock = new();

    public SimulatedStatusLights(string? logPath)
    {
        _logPath = logPath;
        if (logPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        }
    }

    /// <summary>What the lights show now; null until the appliance first sets them.</summary>
    public LightState? Current { get; private set; }

    public ValueTask ShowAsync(LightState state, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (state == Current)
            {
                return ValueTask.CompletedTask;
            }

            Current = state;
            if (_logPath is not null)
            {
                File.AppendAllText(_logPath, string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {Describe(state)}\n"));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Colour and pattern in words, following the console's light semantics.</summary>
    public static string Describe(LightState state) => state switch
    {
        LightState.Ready => "green steady (ready)",
        LightState.Screening => "yellow steady (screening)",
        LightState.Attention => "yellow blink 1Hz (attention)",
        LightState.Refer => "red steady (refer for TB test)",
        LightState.Fault => "red blink 2Hz + buzzer (fault)",
        _ => state.ToString(),
    };
}
