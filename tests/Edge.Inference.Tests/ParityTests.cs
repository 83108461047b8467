using System.Globalization;
using Edge.Dicom;
using Edge.TestSupport;
using Xunit.Abstractions;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Inference.Tests;

/// <summary>
/// The C# path (PNG decode, preprocessing, ONNX Runtime) must reproduce the scores the training recipe wrote for its test
/// split, so what was validated in Python is what runs on the device.
/// </summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-3;

    [Fact]
    public async Task Score_TestSplit_ReproducesReferenceScoresWithin1e3()
    {
        using var key = ModelBundle.LoadPublicKey(Repo.DevPublicKey);
        var bundle = ModelBundle.Load(Repo.CurrentBundle, key);
        using var scorer = OnnxScorer.Create(bundle, new InferenceSettings { Providers = [ExecutionProvider.Cpu] }, NullLogger.Instance);
        var preprocessor = new Preprocessor(bundle.Manifest.Preprocessing);
        var reader = new ImageFileReader();
        var rows = File.ReadAllLines(Path.Combine(Repo.CurrentBundle, "reference-scores.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.True(rows.Count >= 100, $"Only {rows.Count} reference scores.");

        var worst = 0.0;
        foreach (var row in rows)
        {
            var image = await reader.ReadAsync(Path.Combine(Repo.Shenzhen, row[0]), CancellationToken.None);
            var output = scorer.Score(preprocessor.Run(image));
            var expected = double.Parse(row[2], CultureInfo.InvariantCulture);
            worst = Math.Max(worst, Math.Abs(output.Probability - expected));
            Assert.True(Math.Abs(output.Probability - expected) <= Tolerance, $"{row[0]}: C# {output.Probability:0.000000}, reference {expected:0.000000}");
            Assert.All(output.Heatmap, v => Assert.True(v >= 0));
        }

        output.WriteLine($"{rows.Count} test-split images, worst |C# - reference| = {worst:E2}");
        Assert.InRange(worst, 0, Tolerance);
    }
}
