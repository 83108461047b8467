using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Edge.Sync.Tests;

/// <summary>The PHI scan finds a planted value however an output spells it, and finds nothing in a clean document.</summary>
public sealed class PhiScannerTests
{
    private static readonly Planted[] Corpus = [.. PhiCorpus.ProfileAttributes.Select((a, n) => PhiCorpus.Plant(a.Keyword, a.Kind, 0, n))];

    private static readonly PhiScanner Scanner = new(Corpus);

    private static Planted Value(string keyword) => Corpus.Single(p => p.Keyword == keyword);

    [Fact]
    public void Scan_CleanResultPayload_FindsNothing()
    {
        var payload = """{"id":"2f6c0a","site":"site-a","device":"dev-1","acquiredAt":"2026-12-01T09:30:00+00:00","status":"screened","score":71.2,"subject":{"pseudoId":"9b1c2d","ageBand":"65+","sex":"F"},"historical":false}""";

        Assert.Empty(Scanner.Scan("payload", payload));
    }

    [Fact]
    public void Scan_NameComponentUpperCased_Found()
    {
        var name = Value("PatientName");

        var leak = Assert.Single(Scanner.Scan("slip", $"PATIENT: {name.Tokens[1].ToUpperInvariant()}"));

        Assert.Equal(("PatientName", name.Tokens[1]), (leak.Keyword, leak.Token));
    }

    [Fact]
    public void Scan_ValueInJsonWithEveryCharacterEscaped_Found()
    {
        var accession = Value("AccessionNumber").Value;
        var escaped = string.Concat(accession.Select(c => $"\\u{(int)c:x4}"));

        var leaks = Scanner.Scan("export", $$"""{"note":"{{escaped}}"}""");

        Assert.Contains(leaks, l => l.Keyword == "AccessionNumber" && l.Reading == "JSON-unescaped");
    }

    [Fact]
    public void Scan_JsonDocumentKeptAsStringInsideJson_Found()
    {
        var inner = JsonSerializer.Serialize(new Dictionary<string, string> { ["comment"] = Value("PatientComments").Value });
        var outer = JsonSerializer.Serialize(new Dictionary<string, string> { ["payload"] = inner.Replace("Q", "\\u0051", StringComparison.Ordinal) });

        Assert.Contains(Scanner.Scan("api", outer), l => l.Keyword == "PatientComments");
    }

    [Fact]
    public void Scan_ValuePercentEncodedInUrl_Found()
    {
        var time = Value("StudyTime").Tokens[1];
        var encoded = string.Concat(Encoding.UTF8.GetBytes(time).Select(b => $"%{b:X2}"));

        Assert.Contains(Scanner.Scan("link", $"/api/export/csv?site={encoded}"), l => l.Keyword == "StudyTime" && l.Reading == "URL-decoded");
    }

    [Fact]
    public void Scan_ValueAsHtmlCharacterReferencesInsideJsonEscapes_Found()
    {
        var station = Value("StationName").Value;
        var html = string.Concat(station.Select(c => $"&#{(int)c};"));
        var json = JsonSerializer.Serialize(html, new JsonSerializerOptions { Encoder = JavaScriptEncoder.Default });

        Assert.Contains("\\u0026#", json, StringComparison.Ordinal);
        Assert.Contains(Scanner.Scan("page", json), l => l.Keyword == "StationName" && l.Reading == "JSON-unescaped, HTML-decoded");
    }

    [Fact]
    public void Scan_BirthDateInAnotherSpelling_Found()
    {
        var birth = Value("PatientBirthDate");
        var iso = DateOnly.ParseExact(birth.Value, "yyyyMMdd", CultureInfo.InvariantCulture).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        Assert.Contains(Scanner.Scan("csv", $"site-a,month,{iso},2026-12-31"), l => l.Keyword == "PatientBirthDate");
    }

    [Fact]
    public void Scan_UidTailAlone_Found()
    {
        var uid = Value("StudyInstanceUID");

        Assert.Contains(Scanner.Scan("log", "study ..." + uid.Value[^12..]), l => l.Keyword == "StudyInstanceUID");
    }

    [Fact]
    public void Scan_ExcludedKind_NotLookedFor()
    {
        var uid = Value("SOPInstanceUID").Value;

        Assert.Empty(Scanner.Scan("debug log", "received " + uid + ".dcm", p => p.Kind != "UI"));
        Assert.NotEmpty(Scanner.Scan("info log", "received " + uid + ".dcm"));
    }

    [Fact]
    public void ScanBytes_ValueInBinaryPageAsUtf8OrUtf16_Found()
    {
        var page = new byte[4096];
        new Random(7).NextBytes(page);
        var id = Value("PatientID").Value;
        Encoding.UTF8.GetBytes(id).CopyTo(page, 1000);
        Encoding.Unicode.GetBytes(Value("PatientAddress").Tokens[0]).CopyTo(page, 2001);

        var leaks = Scanner.ScanBytes("collector.db-wal", page);

        Assert.Contains(leaks, l => l.Keyword == "PatientID" && l.Reading == "bytes");
        Assert.Contains(leaks, l => l.Keyword == "PatientAddress" && l.Reading.StartsWith("UTF-16", StringComparison.Ordinal));
    }

    [Fact]
    public void ScanBytes_RandomPage_FindsNothing()
    {
        var page = new byte[1 << 20];
        new Random(11).NextBytes(page);

        Assert.Empty(Scanner.ScanBytes("random", page));
    }
}
