using Edge.Domain;

namespace Edge.Web;

/// <summary>How the technician's page is served; validated by <see cref="Validate"/> before the host starts.</summary>
public sealed class WebPageOptions
{
    /// <summary>Kestrel URLs, <c>;</c>-separated (e.g. <c>http://127.0.0.1:8080</c>; port 0 lets the system choose).</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary><c>pbkdf2-sha256$iterations$salt$hash</c> (see <see cref="PinHash"/>); required when bound beyond loopback.</summary>
    public string? PinHash { get; init; }

    /// <summary>A session ends after this long without a request.</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Failed logins allowed from one address before it must wait <see cref="LoginLockout"/>.</summary>
    public int MaxLoginAttempts { get; init; } = 5;

    public TimeSpan LoginLockout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>en</c> or <c>zh-CN</c>: the page's language until the user switches.</summary>
    public string Language { get; init; } = "en";

    /// <summary>Times on the page are the site's local times, whatever zone the tablet is set to.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    public CalibrationSettings Calibration { get; init; } = new();

    /// <summary>True when any URL listens beyond loopback: then every page and API needs a login.</summary>
    public bool RequiresLogin => Urls.Any(u => !IsLoopback(u));

    public List<string> Validate()
    {
        var problems = new List<string>();
        foreach (var url in Urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            {
                problems.Add($"Edge:Web:Urls '{url}' is not an http:// URL (e.g. http://127.0.0.1:8080).");
            }
        }

        if (RequiresLogin && !Edge.Web.PinHash.IsWellFormed(PinHash))
        {
            problems.Add("Edge:Web:PinHash must be set (edge-appliance hash-pin) when Edge:Web:Urls listens beyond localhost: the page shows patient references.");
        }

        if (Language is not ("en" or "zh-CN"))
        {
            problems.Add($"Edge:Web:Language '{Language}' is not supported: use 'en' or 'zh-CN'.");
        }

        if (SessionIdleTimeout <= TimeSpan.Zero || LoginLockout <= TimeSpan.Zero || MaxLoginAttempts < 1)
        {
            problems.Add("Edge:Web:SessionIdleTimeout and Edge:Web:LoginLockout must be positive, Edge:Web:MaxLoginAttempts at least 1.");
        }

        if (Calibration.TargetSensitivity is <= 0 or >= 1 || Calibration.MinPositives < 1 || Calibration.MinNegatives < 1)
        {
            problems.Add("Edge:Web:TargetSensitivity must lie between 0 and 1; Edge:Web:MinPositives and Edge:Web:MinNegatives must be at least 1.");
        }

        return problems;
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));
    }
}
