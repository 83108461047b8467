using System.Text.Json.Serialization;

namespace Edge.Sync;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeviceStatusMessage))]
internal sealed partial class SyncJsonContext : JsonSerializerContext;
