using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Edge.Collector;

// DHIS2 Web API dataValueSets import shape (POST /api/dataValueSets); docs/collector.md shows it with an example.
public sealed record Dhis2DataValue(
    string DataElement,
    string Period,
    string OrgUnit,
    string CategoryOptionCombo,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AttributeOptionCombo,
    string Value);

public sealed record Dhis2DataValueSet(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DataSet,
    string Period,
    string CompleteDate,
    IReadOnlyList<Dhis2DataValue> DataValues);

/// <summary>Why an export could not be made: every missing mapping at once, so the province can fix its configuration in one go.</summary>
public sealed record ExportProblems(IReadOnlyList<string> Problems);

// FHIR R4 MeasureReport (summary), only the elements used.
public sealed record FhirCoding(string System, string Code, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Display = null);

public sealed record FhirCodeableConcept(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FhirCoding>? Coding,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text = null);

public sealed record FhirIdentifier(string System, string Value);

public sealed record FhirReference(FhirIdentifier Identifier);

public sealed record FhirPeriod(string Start, string End);

public sealed record FhirQuantity(double Value, string Unit, string System, string Code);

public sealed record FhirPopulation(FhirCodeableConcept Code, long Count);

public sealed record FhirStratum(FhirCodeableConcept Value, IReadOnlyList<FhirPopulation> Population);

public sealed record FhirStratifier(IReadOnlyList<FhirCodeableConcept> Code, IReadOnlyList<FhirStratum> Stratum);

public sealed record FhirGroup(
    FhirCodeableConcept Code,
    IReadOnlyList<FhirPopulation> Population,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FhirQuantity? MeasureScore,
    IReadOnlyList<FhirStratifier> Stratifier);

public sealed record FhirMeasureReport(
    string ResourceType,
    string Id,
    string Status,
    string Type,
    string Measure,
    FhirReference Subject,
    string Date,
    FhirPeriod Period,
    IReadOnlyList<FhirGroup> Group);

/// <summary>The three exports, pure: indicator rows in, payloads out.</summary>
public static class Exports
{
    public const string IndicatorSystem = "urn:edge:tb-cxr:indicator";
    public const string SiteSystem = "urn:edge:site";
    private const string PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

    /// <summary>
    /// One month (<c>yyyy-MM</c> rows) as a DHIS2 data value set: for each site and mapped indicator, one value per age
    /// band x sex (disaggregated elements) or one on the default combo. Nothing is dropped: a site without an org unit or a
    /// cell without a category option combo is a problem, and there is no payload until the mapping covers them.
    /// </summary>
    public static (Dhis2DataValueSet? Payload, IReadOnlyList<string> Problems) Dhis2(IReadOnlyList<IndicatorRow> monthRows, string month, Dhis2Options mapping, DateOnly completeDate)
    {
        var problems = new SortedSet<string>(StringComparer.Ordinal);
        var period = month.Replace("-", "", StringComparison.Ordinal);
        if (mapping.DataElements.Count == 0)
        {
            problems.Add("Collector:Dhis2:DataElements maps no indicator to a data element.");
        }

        var values = new List<Dhis2DataValue>();
        foreach (var row in monthRows.Where(r => r.Period == month).OrderBy(r => r.Site, StringComparer.Ordinal))
        {
            if (!mapping.OrgUnits.TryGetValue(row.Site, out var orgUnit))
            {
                problems.Add($"Collector:Dhis2:OrgUnits has no organisation unit for site '{row.Site}'.");
                continue;
            }

            foreach (var (indicator, element) in mapping.DataElements.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                if (!element.Disaggregated)
                {
                    if (!mapping.CategoryOptionCombos.TryGetValue("default", out var defaultCombo))
                    {
                        problems.Add("Collector:Dhis2:CategoryOptionCombos has no 'default' combo.");
                        continue;
                    }

                    values.Add(new(element.Id, period, orgUnit, defaultCombo, mapping.AttributeOptionCombo, Number(Indicators.Value(indicator, row.Results, row.Screened, row.Presumptive, row.Rejected, row.Errors))));
                    continue;
                }

                // Unknown age bands or sexes of one site and indicator are summed into the 'unknown' combo together.
                var byCombo = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var cell in row.ByAgeSex)
                {
                    var value = Indicators.Value(indicator, cell.Results, cell.Screened, cell.Presumptive, cell.Rejected, cell.Errors);
                    if (value == 0)
                    {
                        continue;
                    }

                    var key = $"{cell.AgeBand}/{cell.Sex}";
                    if (!mapping.CategoryOptionCombos.TryGetValue(key, out var combo) && !((cell.AgeBand == Indicators.Unknown || cell.Sex == Indicators.Unknown) && mapping.CategoryOptionCombos.TryGetValue(Indicators.Unknown, out combo)))
                    {
                        problems.Add($"Collector:Dhis2:CategoryOptionCombos has no combo for '{key}'" + (cell.AgeBand == Indicators.Unknown || cell.Sex == Indicators.Unknown ? " (nor 'unknown')." : "."));
                        continue;
                    }

                    byCombo[combo] = byCombo.GetValueOrDefault(combo) + value;
                }

                values.AddRange(byCombo.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new Dhis2DataValue(element.Id, period, orgUnit, c.Key, mapping.AttributeOptionCombo, Number(c.Value))));
            }
        }

        return problems.Count > 0
            ? (null, [.. problems])
            : (new Dhis2DataValueSet(mapping.DataSet, period, completeDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), values), []);
    }

    /// <summary>A summary MeasureReport of one site and period: screened, presumptive (of screened) and rejected (of results), stratified by age band and by sex.</summary>
    public static FhirMeasureReport MeasureReport(IndicatorRow row, string measureUrl, DateTimeOffset now)
    {
        FhirCodeableConcept Population(string code) => new([new FhirCoding(PopulationSystem, code)]);
        FhirCodeableConcept Indicator(string code, string display) => new([new FhirCoding(IndicatorSystem, code, display)]);
        static FhirQuantity? Score(long part, long whole) => whole == 0 ? null : new FhirQuantity(Math.Round(100.0 * part / whole, 1), "%", "http://unitsofmeasure.org", "%");

        FhirGroup Group(string code, string display, Func<IndicatorCell, long> numerator, Func<IndicatorCell, long>? denominator, long total, long? totalDenominator)
        {
            List<FhirPopulation> Pops(long n, long? d) => d is { } den
                ? [new(Population("denominator"), den), new(Population("numerator"), n)]
                : [new(Population("initial-population"), n)];

            FhirStratifier By(string name, IEnumerable<IGrouping<string, IndicatorCell>> groups) => new(
                [new FhirCodeableConcept(null, name)],
                [.. groups.Select(g => new FhirStratum(new FhirCodeableConcept(null, g.Key), Pops(g.Sum(numerator), denominator is null ? null : g.Sum(denominator))))]);

            return new FhirGroup(
                Indicator(code, display),
                Pops(total, totalDenominator),
                totalDenominator is { } whole ? Score(total, whole) : null,
                [By("age-band", row.ByAgeSex.GroupBy(c => c.AgeBand).OrderBy(g => Indicators.AgeOrder(g.Key))), By("sex", row.ByAgeSex.GroupBy(c => c.Sex).OrderBy(g => g.Key, StringComparer.Ordinal))]);
        }

        return new FhirMeasureReport(
            "MeasureReport",
            $"tb-cxr-{Slug(row.Site)}-{row.Period}",
            "complete",
            "summary",
            measureUrl,
            new FhirReference(new FhirIdentifier(SiteSystem, row.Site)),
            now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            new FhirPeriod(row.Start, row.End),
            [
                Group("screened", "People screened with chest X-ray CAD", c => c.Screened, null, row.Screened, null),
                Group("presumptive", "Presumptive TB (CAD above threshold, referred)", c => c.Presumptive, c => c.Screened, row.Presumptive, row.Screened),
                Group("rejected", "Images rejected by quality checks", c => c.Rejected, c => c.Results, row.Rejected, row.Results),
            ]);
    }

    public const string CsvHeader = "site,period,start,end,age_band,sex,results,screened,presumptive,rejected,errors,refer_percent,rejected_percent";

    /// <summary>One line per site, period and age band x sex, plus an <c>all,all</c> line per site and period.</summary>
    public static string Csv(IEnumerable<IndicatorRow> rows)
    {
        var csv = new StringBuilder(CsvHeader).Append('\n');
        foreach (var row in rows)
        {
            Line(row, "all", "all", row.Results, row.Screened, row.Presumptive, row.Rejected, row.Errors);
            foreach (var c in row.ByAgeSex)
            {
                Line(row, c.AgeBand, c.Sex, c.Results, c.Screened, c.Presumptive, c.Rejected, c.Errors);
            }
        }

        return csv.ToString();

        void Line(IndicatorRow row, string age, string sex, long results, long screened, long presumptive, long rejected, long errors)
        {
            string Pct(long part, long whole) => whole == 0 ? "" : Math.Round(100.0 * part / whole, 1).ToString("0.0", CultureInfo.InvariantCulture);
            csv.Append(CultureInfo.InvariantCulture, $"{Field(row.Site)},{row.Period},{row.Start},{row.End},{age},{sex},{results},{screened},{presumptive},{rejected},{errors},{Pct(presumptive, screened)},{Pct(rejected, results)}\n");
        }
    }

    /// <summary>Quotes a field that holds a comma, quote or line break (RFC 4180), and defuses spreadsheet formulas.</summary>
    public static string Field(string value)
    {
        var safe = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' ? "'" + value : value;
        return safe.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Slug(string site) => new([.. site.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
}
