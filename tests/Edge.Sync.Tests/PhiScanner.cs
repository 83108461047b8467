using System.Buffers;
using System.Net;
using System.Text;

namespace Edge.Sync.Tests;

/// <summary>One planted token found somewhere it must not be.</summary>
public sealed record PhiLeak(string Keyword, string Token, string Where, string Reading, string Context)
{
    public override string ToString() => $"{Keyword} '{Token}' in {Where} ({Reading}): ...{Context}...";
}

/// <summary>
/// Finds planted values (<see cref="PhiCorpus"/>) and their recognisable parts in text and in raw bytes. Case-insensitive,
/// since a value upper-cased on the way (DICOM CS, a name) is still a leak; and text is also read with the encodings that
/// exports and stored documents use undone (JSON string escapes, URL encoding, HTML character references), since
/// <c>Zwane\u0030</c> or <c>Zwane%30</c> is the same name to anyone who reads it.
/// </summary>
public sealed class PhiScanner
{
    private readonly Planted[] _planted;
    private readonly Dictionary<string, (SearchValues<string> Any, (string Token, Planted Value)[] Tokens)> _searchers = new(StringComparer.Ordinal);

    public PhiScanner(IEnumerable<Planted> planted)
    {
        _planted = [.. planted];
        if (_planted.Length == 0)
        {
            throw new ArgumentException("A scan for nothing would always pass.", nameof(planted));
        }
    }

    /// <summary>Every leak in <paramref name="text"/>, as it is and decoded; <paramref name="include"/> narrows the values looked for.</summary>
    public IReadOnlyList<PhiLeak> Scan(string where, string text, Func<Planted, bool>? include = null)
    {
        var leaks = new List<PhiLeak>();
        var searched = Searcher(include);
        foreach (var (reading, decoded) in Readings(text))
        {
            Find(searched, where, reading, decoded, leaks);
        }

        return Distinct(leaks);
    }

    /// <summary>
    /// Every leak in raw bytes (a database file, a printer job), read one byte per character (UTF-8 and every
    /// single-byte code page agree with it on the planted ASCII) and as UTF-16 at either alignment. Not decoded further:
    /// what a store holds as text is scanned through its rows, with <see cref="Scan"/>.
    /// </summary>
    public IReadOnlyList<PhiLeak> ScanBytes(string where, byte[] bytes)
    {
        var leaks = new List<PhiLeak>();
        var searched = Searcher(null);
        Find(searched, where, "bytes", Encoding.Latin1.GetString(bytes), leaks);
        Find(searched, where, "UTF-16", Encoding.Unicode.GetString(bytes), leaks);
        if (bytes.Length > 1)
        {
            Find(searched, where, "UTF-16, odd offset", Encoding.Unicode.GetString(bytes, 1, bytes.Length - 1), leaks);
        }

        return Distinct(leaks);
    }

    /// <summary>A file's bytes, read while its writer may still have it open (a live SQLite database and its WAL).</summary>
    public IReadOnlyList<PhiLeak> ScanFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return ScanBytes(path, copy.ToArray());
    }

    /// <summary>The text as it is, then with each encoding undone, alone and in turn (JSON inside a URL inside HTML).</summary>
    public static IReadOnlyList<(string Reading, string Text)> Readings(string text)
    {
        var readings = new List<(string, string)> { ("as is", text) };
        foreach (var (name, decode) in new (string, Func<string, string>)[] { ("JSON-unescaped", JsonUnescape), ("URL-decoded", WebUtility.UrlDecode), ("HTML-decoded", WebUtility.HtmlDecode) })
        {
            foreach (var (reading, current) in readings.ToList())
            {
                var decoded = decode(current);
                if (!string.Equals(decoded, current, StringComparison.Ordinal))
                {
                    readings.Add((reading == "as is" ? name : reading + ", " + name, decoded));
                }
            }
        }

        return readings;
    }

    /// <summary>
    /// Undoes JSON string escapes (<c>\uXXXX</c>, <c>\/</c>, <c>\n</c>...) wherever they are, anything else kept, and
    /// again until nothing changes: JSON kept as a string inside JSON, or in a <c>pg_dump</c> COPY line (which doubles
    /// every backslash), is escaped twice.
    /// </summary>
    public static string JsonUnescape(string text)
    {
        for (var round = 0; round < 4; round++)
        {
            var unescaped = JsonUnescapeOnce(text);
            if (string.Equals(unescaped, text, StringComparison.Ordinal))
            {
                break;
            }

            text = unescaped;
        }

        return text;
    }

    private static string JsonUnescapeOnce(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                var next = text[i + 1];
                if (next == 'u' && i + 5 < text.Length && ushort.TryParse(text.AsSpan(i + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var code))
                {
                    result.Append((char)code);
                    i += 5;
                    continue;
                }

                var simple = next switch { '"' => '"', '\\' => '\\', '/' => '/', 'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t', _ => '\0' };
                if (simple != '\0')
                {
                    result.Append(simple);
                    i++;
                    continue;
                }
            }

            result.Append(text[i]);
        }

        return result.ToString();
    }

    /// <summary>Built once per set of values looked for: building the multi-string search costs far more than one scan.</summary>
    private (SearchValues<string> Any, (string Token, Planted Value)[] Tokens) Searcher(Func<Planted, bool>? include)
    {
        var included = _planted.Select(p => include?.Invoke(p) ?? true).ToArray();
        var key = string.Concat(included.Select(i => i ? '1' : '0'));
        lock (_searchers)
        {
            if (!_searchers.TryGetValue(key, out var searcher))
            {
                var tokens = _planted.Where((_, i) => included[i]).SelectMany(p => p.Tokens.Select(t => (t, p))).ToArray();
                searcher = (SearchValues.Create([.. tokens.Select(t => t.t).Distinct(StringComparer.OrdinalIgnoreCase)], StringComparison.OrdinalIgnoreCase), tokens);
                _searchers.Add(key, searcher);
            }

            return searcher;
        }
    }

    private static void Find((SearchValues<string> Any, (string Token, Planted Value)[] Tokens) searched, string where, string reading, string text, List<PhiLeak> leaks)
    {
        if (searched.Tokens.Length == 0)
        {
            return;
        }

        var start = 0;
        while (start < text.Length)
        {
            var found = text.AsSpan(start).IndexOfAny(searched.Any);
            if (found < 0)
            {
                return;
            }

            var at = start + found;
            foreach (var (token, value) in searched.Tokens.Where(t => text.AsSpan(at).StartsWith(t.Token, StringComparison.OrdinalIgnoreCase)))
            {
                var from = Math.Max(0, at - 40);
                var context = text[from..Math.Min(text.Length, at + token.Length + 40)].ReplaceLineEndings(" ");
                leaks.Add(new PhiLeak(value.Keyword, token, where, reading, new string([.. context.Select(c => char.IsControl(c) ? '.' : c)])));
            }

            start = at + 1;
        }
    }

    /// <summary>One leak per value, token and place, however many readings show it.</summary>
    private static List<PhiLeak> Distinct(List<PhiLeak> leaks) =>
        [.. leaks.GroupBy(l => (l.Keyword, l.Token, l.Where)).Select(g => g.First())];
}
