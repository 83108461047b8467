namespace Edge.Hardware;

/// <summary>What the technician did with the button.</summary>
public enum ButtonGesture
{
    /// <summary>Acknowledges the current referral (and silences a sounding fault).</summary>
    ShortPress,

    /// <summary>Held 3 s: reprints the last slip.</summary>
    LongPress,
}

/// <summary>
/// Turns sampled button levels into gestures. A level counts only once it has held for the debounce time, so contact
/// bounce and induced spikes are ignored; the long press fires while still held, so the technician hears it happen.
/// </summary>
public sealed class ButtonDebouncer(TimeSpan debounce, TimeSpan longPress)
{
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(30);

    public static readonly TimeSpan DefaultLongPress = TimeSpan.FromSeconds(3);

    private bool _stable;
    private bool _candidate;
    private DateTimeOffset _candidateSince;
    private bool _longFired;

    public ButtonDebouncer()
        : this(DefaultDebounce, DefaultLongPress)
    {
    }

    /// <summary>Feeds one sample; returns a gesture when one completes.</summary>
    public ButtonGesture? Sample(bool pressed, DateTimeOffset now)
    {
        if (pressed != _candidate)
        {
            _candidate = pressed;
            _candidateSince = now;
        }

        if (_candidate != _stable && now - _candidateSince >= debounce)
        {
            _stable = _candidate;
            if (_stable)
            {
                _longFired = false;
                return null;
            }

            return _longFired ? null : ButtonGesture.ShortPress;
        }

        if (_stable && !_longFired && now - _candidateSince >= longPress)
        {
            _longFired = true;
            return ButtonGesture.LongPress;
        }

        return null;
    }
}
