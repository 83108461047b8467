using System.Text.Json.Serialization;

namespace Edge.Inference;

/// <summary>The bundle's <c>model.json</c>. Only the keys the appliance acts on are bound; the rest travel in the file.</summary>
public sealed record ModelManifest
{
    public required string Schema { get; init; }

    public required string Name { get; init; }

    public required string Version { get; init; }

    public string? Created { get; init; }

    public required string File { get; init; }

    public required string Sha256 { get; init; }

    public required TensorSpec Input { get; init; }

    public required PreprocessingSpec Preprocessing { get; init; }

    public required OutputsSpec Outputs { get; init; }

    public required double Threshold { get; init; }

    public IReadOnlyList<OperatingPoint> OperatingPoints { get; init; } = [];
}

public sealed record TensorSpec
{
    public required string Name { get; init; }

    public string Layout { get; init; } = "NCHW";

    public string Dtype { get; init; } = "float32";

    public required int[] Shape { get; init; }
}

public sealed record PreprocessingSpec
{
    public string Colour { get; init; } = "luma-bt601";

    public required string Monochrome1 { get; init; }

    public string Voi { get; init; } = "none";

    public required ResizeSpec Resize { get; init; }

    public required IntensitySpec Intensity { get; init; }

    public required NormaliseSpec Normalise { get; init; }
}

public sealed record ResizeSpec
{
    public required string Method { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    public bool KeepAspect { get; init; }
}

public sealed record IntensitySpec
{
    public required string Method { get; init; }

    public string Ties { get; init; } = "mid-rank";
}

public sealed record NormaliseSpec
{
    public required double Mean { get; init; }

    public required double Std { get; init; }
}

public sealed record OutputsSpec
{
    public required OutputSpec Score { get; init; }

    public required OutputSpec Heatmap { get; init; }
}

public sealed record OutputSpec
{
    public required string Name { get; init; }

    public int[] Shape { get; init; } = [];

    public string? Meaning { get; init; }
}

public sealed record OperatingPoint
{
    public required string Name { get; init; }

    public double TargetSensitivity { get; init; }

    public required double Threshold { get; init; }

    public double? ValidationSensitivity { get; init; }

    public double? ValidationSpecificity { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectRequiredConstructorParameters = true, AllowTrailingCommas = false)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
