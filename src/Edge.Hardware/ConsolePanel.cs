using System.Device.Gpio;
using System.Threading.Channels;
using Edge.Domain;

namespace Edge.Hardware;

/// <summary>
/// The console's lights, buzzer and button on GPIO lines, as a board profile maps them. It only drives what the state
/// machine's output says: patterns start "on" when they change, a loop advances blinking and the buzzer and samples the
/// button. The <see cref="GpioController"/> is handed in (libgpiod on the device, <see cref="SimulatedGpioDriver"/> elsewhere).
/// </summary>
public sealed class ConsolePanel : IStatusLights, IAsyncDisposable
{
    /// <summary>Fine enough for a 2 Hz blink and the 30 ms debounce; cheap enough to run forever.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly GpioController _controller;
    private readonly BoardProfile _profile;
    private readonly TimeProvider _clock;
    private readonly bool _ownsController;
    private readonly Action<string>? _describe;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, bool> _written = [];
    private readonly Dictionary<string, DateTimeOffset> _patternSince = [];
    private readonly ButtonDebouncer _debouncer = new();
    private readonly Channel<ButtonGesture> _gestures = Channel.CreateUnbounded<ButtonGesture>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private ConsoleOutput _output = ConsoleMachine.Output(LightState.Ready) with { Green = LightPattern.Off };
    private Task _loop = Task.CompletedTask;

    /// <param name="describe">Told each new output in words; the simulator writes it into its log between the line changes.</param>
    public ConsolePanel(GpioController controller, BoardProfile profile, TimeProvider clock, bool ownsController = false, Action<string>? describe = null)
    {
        _describe = describe;
        _controller = controller;
        _profile = profile;
        _clock = clock;
        _ownsController = ownsController;
        foreach (var (_, line) in profile.Outputs())
        {
            _controller.OpenPin(line.Offset, PinMode.Output, line.ActiveLow ? PinValue.High : PinValue.Low);
            _written[line.Offset] = false;
        }

        if (profile.Button is { } button)
        {
            // The internal pull-up where the chip has one; the wiring guide adds an external one anyway.
            var mode = button.ActiveLow && _controller.IsPinModeSupported(button.Offset, PinMode.InputPullUp) ? PinMode.InputPullUp : PinMode.Input;
            _controller.OpenPin(button.Offset, mode);
        }
    }

    public BoardProfile Profile => _profile;

    /// <summary>What the console shows now, for the page.</summary>
    public ConsoleOutput Output
    {
        get
        {
            lock (_lock)
            {
                return _output;
            }
        }
    }

    /// <summary>Debounced button gestures; completes when the panel is disposed.</summary>
    public ChannelReader<ButtonGesture> Gestures => _gestures.Reader;

    /// <summary>Opens the board's GPIO chip through libgpiod, or the simulator for the <c>simulated</c> profile.</summary>
    /// <exception cref="HardwareException">The chip cannot be opened.</exception>
    public static ConsolePanel Open(BoardProfile profile, TimeProvider clock, string? simulatorLog)
    {
        if (profile.Name == BoardProfile.Simulated)
        {
            var driver = new SimulatedGpioDriver(clock, profile.LineNames(), simulatorLog);
            return new ConsolePanel(new GpioController(driver), profile, clock, ownsController: true, describe: driver.Note);
        }
        else
        {
            try
            {
                return new ConsolePanel(new GpioController(new System.Device.Gpio.Drivers.LibGpiodDriver(profile.Chip)), profile, clock, ownsController: true);
            }
            catch (Exception ex) when (ex is PlatformNotSupportedException or IOException or UnauthorizedAccessException or DllNotFoundException or InvalidOperationException)
            {
                throw new HardwareException($"GPIO chip {profile.Chip} ({profile.ChipLabel}) for profile {profile.Name} cannot be opened: {ex.Message}", ex);
            }
        }
    }

    public ValueTask ShowAsync(LightState state, CancellationToken cancellationToken) => ShowAsync(ConsoleMachine.Output(state), cancellationToken);

    public ValueTask ShowAsync(ConsoleOutput output, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            Restart("green", _output.Green, output.Green, now);
            Restart("yellow", _output.Yellow, output.Yellow, now);
            Restart("red", _output.Red, output.Red, now);
            Restart("sync", _output.Sync, output.Sync, now);
            if (_output.Buzzer != output.Buzzer)
            {
                _patternSince["buzzer"] = now;
            }

            if (output != _output)
            {
                _describe?.Invoke(output.Describe() + (_profile.Sync is null ? "" : $", sync {output.Sync.ToString().ToLowerInvariant()}"));
            }

            _output = output;
            DriveOutputs(now);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>One step of the loop: lines to where their patterns are now, and one button sample.</summary>
    public void Refresh()
    {
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            DriveOutputs(now);
        }

        if (_profile.Button is { } button)
        {
            var pressed = (_controller.Read(button.Offset) == PinValue.High) != button.ActiveLow;
            if (_debouncer.Sample(pressed, now) is { } gesture)
            {
                _gestures.Writer.TryWrite(gesture);
            }
        }
    }

    /// <summary>Runs the loop in the background until <see cref="DisposeAsync"/>.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Blinks, sounds and samples every <see cref="Tick"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Refresh();
                await Task.Delay(Tick, _clock, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops the loop and leaves every line off: a stopped service must not look ready.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        lock (_lock)
        {
            _describe?.Invoke("stopped: all lines off");
            foreach (var (_, line) in _profile.Outputs())
            {
                Write(line, false);
            }
        }

        _gestures.Writer.TryComplete();
        if (_ownsController)
        {
            _controller.Dispose();
        }

        _stop.Dispose();
    }

    private void Restart(string name, LightPattern before, LightPattern after, DateTimeOffset now)
    {
        if (before != after)
        {
            _patternSince[name] = now;
        }
    }

    /// <summary>Lines going off are written before lines going on, so two colours never show together.</summary>
    private void DriveOutputs(DateTimeOffset now)
    {
        List<(ProfileLine Line, bool On)> levels =
        [
            (_profile.Green, PatternTiming.IsOn(_output.Green, Since("green", now))),
            (_profile.Yellow, PatternTiming.IsOn(_output.Yellow, Since("yellow", now))),
            (_profile.Red, PatternTiming.IsOn(_output.Red, Since("red", now))),
        ];
        if (_profile.Sync is { } sync)
        {
            levels.Add((sync, PatternTiming.IsOn(_output.Sync, Since("sync", now))));
        }

        if (_profile.Buzzer is { } buzzer)
        {
            levels.Add((buzzer, PatternTiming.IsOn(_output.Buzzer, Since("buzzer", now))));
        }

        foreach (var (line, on) in levels.OrderBy(l => l.On))
        {
            Write(line, on);
        }
    }

    private TimeSpan Since(string name, DateTimeOffset now) => now - _patternSince.GetValueOrDefault(name, now);

    private void Write(ProfileLine line, bool on)
    {
        if (_written.GetValueOrDefault(line.Offset) == on)
        {
            return;
        }

        _written[line.Offset] = on;
        _controller.Write(line.Offset, on != line.ActiveLow ? PinValue.High : PinValue.Low);
    }
}
