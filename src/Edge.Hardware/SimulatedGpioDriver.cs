using System.Device.Gpio;
using System.Globalization;

namespace Edge.Hardware;

/// <summary>One recorded level change of a simulated line.</summary>
public sealed record LineChange(DateTimeOffset At, int Pin, string Name, PinValue Value);

/// <summary>
/// A GPIO chip in memory, for the demo and tests: every level change is recorded with its time (and appended to a log
/// file when one is given), the current levels can be read back for the page, and inputs can be driven like a finger on the button.
/// </summary>
public sealed class SimulatedGpioDriver : GpioDriver
{
    /// <summary>Enough history for tests and the page; the log file keeps everything.</summary>
    private const int MaxRecorded = 10_000;

    private readonly TimeProvider _clock;
    private readonly IReadOnlyDictionary<int, string> _names;
    private readonly string? _logPath;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, PinValue> _levels = [];
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly List<LineChange> _changes = [];

    public SimulatedGpioDriver(TimeProvider clock, IReadOnlyDictionary<int, string>? names = null, string? logPath = null)
    {
        _clock = clock;
        _names = names ?? new Dictionary<int, string>();
        _logPath = logPath;
        if (logPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        }
    }

    public IReadOnlyList<LineChange> Changes
    {
        get
        {
            lock (_lock)
            {
                return [.. _changes];
            }
        }
    }

    protected override int PinCount => 256;

    /// <summary>The level of a line now (low until written or driven).</summary>
    public PinValue Level(int pin)
    {
        lock (_lock)
        {
            return _levels.GetValueOrDefault(pin, PinValue.Low);
        }
    }

    /// <summary>Appends a '#' line to the log, so a reader sees what the line changes mean (e.g. "red steady (refer)").</summary>
    public void Note(string text)
    {
        if (_logPath is null)
        {
            return;
        }

        lock (_lock)
        {
            File.AppendAllText(_logPath, string.Create(CultureInfo.InvariantCulture, $"{_clock.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} # {text}\n"));
        }
    }

    /// <summary>Drives an input line from outside, as the wired button would.</summary>
    public void Drive(int pin, PinValue value) => Set(pin, value);

    protected override void OpenPin(int pinNumber)
    {
        lock (_lock)
        {
            _modes.TryAdd(pinNumber, PinMode.Input);
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_lock)
        {
            _modes.Remove(pinNumber);
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_lock)
        {
            _modes[pinNumber] = mode;

            // A pull-up reads high while the button is open, as on the board: the line's resting level, not a change.
            if (mode == PinMode.InputPullUp)
            {
                _levels.TryAdd(pinNumber, PinValue.High);
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_lock)
        {
            return _modes.GetValueOrDefault(pinNumber, PinMode.Input);
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => Level(pinNumber);

    protected override void Write(int pinNumber, PinValue value) => Set(pinNumber, value);

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The simulator is polled; it raises no pin events.");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException("The simulator is polled; it raises no pin events.");

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException("The simulator is polled; it raises no pin events.");

    private void Set(int pin, PinValue value)
    {
        lock (_lock)
        {
            if (_levels.GetValueOrDefault(pin, PinValue.Low) == value && _levels.ContainsKey(pin))
            {
                return;
            }

            var first = !_levels.ContainsKey(pin);
            _levels[pin] = value;
            if (first && value == PinValue.Low)
            {
                // Opening a line low is no change from the chip's reset state.
                return;
            }

            var change = new LineChange(_clock.GetUtcNow(), pin, _names.GetValueOrDefault(pin, $"line{pin}"), value);
            if (_changes.Count == MaxRecorded)
            {
                _changes.RemoveAt(0);
            }

            _changes.Add(change);
            if (_logPath is not null)
            {
                File.AppendAllText(_logPath, string.Create(CultureInfo.InvariantCulture, $"{change.At:yyyy-MM-ddTHH:mm:ss.fffZ} {change.Name,-6} {(change.Value == PinValue.High ? "high" : "low")}\n"));
            }
        }
    }
}
