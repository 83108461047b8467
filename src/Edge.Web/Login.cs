using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Edge.Web;

/// <summary>
/// A PIN or password kept only as PBKDF2-SHA256 with a random salt: <c>pbkdf2-sha256$iterations$salt$hash</c> (base64).
/// Stolen configuration then gives a hash to brute-force, not the PIN.
/// </summary>
public static class PinHash
{
    public const int DefaultIterations = 210_000;
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Create(string pin, int iterations = DefaultIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(pin);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(pin), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    public static bool IsWellFormed(string? stored) => Parse(stored) is not null;

    /// <summary>Constant-time comparison; false for a malformed stored value.</summary>
    public static bool Verify(string pin, string? stored)
    {
        if (Parse(stored) is not { } parts || string.IsNullOrEmpty(pin))
        {
            return false;
        }

        var candidate = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(pin), parts.Salt, parts.Iterations, HashAlgorithmName.SHA256, parts.Hash.Length);
        return CryptographicOperations.FixedTimeEquals(candidate, parts.Hash);
    }

    private static (int Iterations, byte[] Salt, byte[] Hash)? Parse(string? stored)
    {
        var parts = stored?.Split('$');
        if (parts is not [Scheme, var iterations, var salt, var hash] || !int.TryParse(iterations, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 10_000)
        {
            return null;
        }

        try
        {
            var saltBytes = Convert.FromBase64String(salt);
            var hashBytes = Convert.FromBase64String(hash);
            return saltBytes.Length >= 8 && hashBytes.Length >= 16 ? (n, saltBytes, hashBytes) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Failed logins per client address: after the allowed number, that address waits out the lockout.</summary>
public sealed class LoginThrottle(int maxAttempts, TimeSpan lockout, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset LockedUntil)> _byAddress = new(StringComparer.Ordinal);

    /// <summary>When the address may try again, or null if it may now.</summary>
    public DateTimeOffset? LockedUntil(string address) =>
        _byAddress.TryGetValue(address, out var entry) && entry.LockedUntil > clock.GetUtcNow() ? entry.LockedUntil : null;

    /// <summary>Counts a failure; returns true when this failure locks the address out.</summary>
    public bool Failed(string address)
    {
        var now = clock.GetUtcNow();
        var entry = _byAddress.AddOrUpdate(
            address,
            _ => (1, DateTimeOffset.MinValue),
            (_, e) => e.LockedUntil != DateTimeOffset.MinValue && e.LockedUntil <= now ? (1, DateTimeOffset.MinValue) : (e.Failures + 1, e.LockedUntil));
        if (entry.Failures >= maxAttempts)
        {
            _byAddress[address] = (entry.Failures, now + lockout);
            return true;
        }

        return false;
    }

    public void Succeeded(string address) => _byAddress.TryRemove(address, out _);
}

/// <summary>Random session tokens held in memory only (a restart logs everyone out); each expires after idle time.</summary>
public sealed class Sessions(TimeSpan idleTimeout, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);

    public string Start()
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        _lastSeen[token] = clock.GetUtcNow();
        return token;
    }

    /// <summary>True and the idle timer restarted, when the token is known and not expired.</summary>
    public bool Touch(string? token)
    {
        if (token is null || !_lastSeen.TryGetValue(token, out var seen))
        {
            return false;
        }

        var now = clock.GetUtcNow();
        if (now - seen > idleTimeout)
        {
            _lastSeen.TryRemove(token, out _);
            return false;
        }

        _lastSeen[token] = now;
        return true;
    }

    public void End(string? token)
    {
        if (token is not null)
        {
            _lastSeen.TryRemove(token, out _);
        }
    }
}
