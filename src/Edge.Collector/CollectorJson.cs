using System.Text.Json.Serialization;

namespace Edge.Collector;

/// <summary>Every type the collector reads or writes as JSON, generated at build time (Native AOT: no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, AllowTrailingCommas = true, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(WireResult))]
[JsonSerializable(typeof(WireStatus))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(IndicatorsResponse))]
[JsonSerializable(typeof(IReadOnlyList<DeviceHealth>))]
[JsonSerializable(typeof(IReadOnlyList<ThresholdChange>))]
[JsonSerializable(typeof(Dhis2DataValueSet))]
[JsonSerializable(typeof(FhirMeasureReport))]
[JsonSerializable(typeof(ExportProblems))]
[JsonSerializable(typeof(StoreTotals))]
public sealed partial class CollectorJsonContext : JsonSerializerContext;
