using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;

namespace Edge.Collector.Tests;

public sealed class ExportTests
{
    private static readonly DailyCount[] December =
    [
        new("site-a", "2026-12-01", "25-34", "F", "screened", "refer", 3),
        new("site-a", "2026-12-09", "25-34", "F", "screened", "no-refer", 9),
        new("site-a", "2026-12-10", null, null, "rejected", null, 1),
    ];

    [Fact]
    public void Dhis2_DocumentedMappingAndData_ProducesTheDocumentedPayload()
    {
        var doc = File.ReadAllText(Path.Combine(Repo.Root, "docs", "collector.md"));
        var mapping = DocumentedMapping(doc);
        var example = JsonNode.Parse(JsonBlockAfter(doc, "<!-- dhis2-payload-example -->"));

        var (payload, problems) = Exports.Dhis2(Indicators.Compute(December, Period.Month), "2026-12", mapping, new DateOnly(2027, 1, 2));

        Assert.Empty(problems);
        var produced = JsonNode.Parse(JsonSerializer.Serialize(payload!, CollectorJsonContext.Default.Dhis2DataValueSet));
        Assert.True(JsonNode.DeepEquals(example, produced), $"documented:\n{example}\nproduced:\n{produced}");
    }

    [Fact]
    public void Dhis2_UnmappedSiteAndCell_NoPayloadEveryProblemNamed()
    {
        var mapping = new Dhis2Options
        {
            OrgUnits = { ["site-a"] = "OU1" },
            DataElements = { ["screened"] = new Dhis2DataElementOptions { Id = "DE1", Disaggregated = true } },
            CategoryOptionCombos = { ["25-34/F"] = "C1" },
        };
        DailyCount[] counts = [.. December, new("site-b", "2026-12-01", "65+", "M", "screened", "no-refer", 1), new("site-a", "2026-12-01", "65+", "M", "screened", "no-refer", 1)];

        var (payload, problems) = Exports.Dhis2(Indicators.Compute(counts, Period.Month), "2026-12", mapping, new DateOnly(2027, 1, 2));

        Assert.Null(payload);
        Assert.Equal(["Collector:Dhis2:CategoryOptionCombos has no combo for '65+/M'.", "Collector:Dhis2:OrgUnits has no organisation unit for site 'site-b'."], problems);
    }

    [Fact]
    public void MeasureReport_Month_SummaryWithScoresAndStrata()
    {
        var row = Assert.Single(Indicators.Compute(December, Period.Month));

        var report = JsonNode.Parse(JsonSerializer.Serialize(Exports.MeasureReport(row, "urn:m", new DateTimeOffset(2027, 1, 2, 0, 0, 0, TimeSpan.Zero)), CollectorJsonContext.Default.FhirMeasureReport))!;

        Assert.Equal(("MeasureReport", "summary", "complete"), ((string)report["resourceType"]!, (string)report["type"]!, (string)report["status"]!));
        Assert.Equal(("2026-12-01", "2026-12-31"), ((string)report["period"]!["start"]!, (string)report["period"]!["end"]!));
        Assert.Equal("site-a", (string)report["subject"]!["identifier"]!["value"]!);
        var groups = report["group"]!.AsArray();
        Assert.Equal(["screened", "presumptive", "rejected"], groups.Select(g => (string)g!["code"]!["coding"]![0]!["code"]!));
        Assert.Equal(12, (long)groups[0]!["population"]![0]!["count"]!);
        var presumptive = groups[1]!;
        Assert.Equal([("denominator", 12L), ("numerator", 3L)], presumptive["population"]!.AsArray().Select(p => ((string)p!["code"]!["coding"]![0]!["code"]!, (long)p["count"]!)));
        Assert.Equal(25.0, (double)presumptive["measureScore"]!["value"]!);
        Assert.Equal(["age-band", "sex"], presumptive["stratifier"]!.AsArray().Select(s => (string)s!["code"]![0]!["text"]!));
        Assert.Equal(["25-34", "unknown"], presumptive["stratifier"]![0]!["stratum"]!.AsArray().Select(s => (string)s!["value"]!["text"]!));
    }

    [Fact]
    public void Csv_Rows_TotalsThenCellsAndFormulaDefused()
    {
        var rows = Indicators.Compute([.. December, new("=cmd", "2026-12-01", null, null, "error", null, 1)], Period.Month);

        var lines = Exports.Csv(rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(Exports.CsvHeader, lines[0]);
        Assert.Contains("site-a,2026-12,2026-12-01,2026-12-31,all,all,13,12,3,1,0,25.0,7.7", lines);
        Assert.Contains("site-a,2026-12,2026-12-01,2026-12-31,25-34,F,12,12,3,0,0,25.0,0.0", lines);
        Assert.Contains("'=cmd,2026-12,2026-12-01,2026-12-31,all,all,1,0,0,0,1,,0.0", lines);
    }

    /// <summary>The documented <c>"Dhis2": {...}</c> block, bound as the collector binds its configuration.</summary>
    private static Dhis2Options DocumentedMapping(string doc)
    {
        var block = JsonBlockAfter(doc, "The mapping is configuration");
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes("{" + block + "}"))).Build();
        var mapping = new Dhis2Options();
        configuration.GetSection("Dhis2").Bind(mapping);
        return mapping;
    }

    private static string JsonBlockAfter(string doc, string marker)
    {
        var start = doc.IndexOf("```json\n", doc.IndexOf(marker, StringComparison.Ordinal), StringComparison.Ordinal) + "```json\n".Length;
        return doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
    }
}
