using Edge.Domain;
using Edge.Inference;

namespace Edge.Appliance;

/// <summary>One step of the screening pipeline: one case in, the same case with this step's part filled in, out.</summary>
public interface IStage
{
    string Name { get; }

    /// <summary>Whether the stage also runs for a case already settled (rejected or failed): record and act do.</summary>
    bool RunsWhenSettled => false;

    ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken);
}

/// <summary>Reads the spooled file into pixels and header. An unreadable file is rejected with the reason, and kept.</summary>
public sealed class IntakeStage(IImageFileReader reader) : IStage
{
    public string Name => "intake";

    public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        try
        {
            var image = await reader.ReadAsync(item.Received.SpoolPath, cancellationToken).ConfigureAwait(false);
            return item with { Image = image };
        }
        catch (ImageReadException ex)
        {
            return item.Reject(QcReport.Of([new QcFinding("unreadable", QcVerdict.Reject, ex.Message)]));
        }
    }
}

/// <summary>Is this a frontal adult chest radiograph? The verdict is <see cref="QualityChecks"/>; this only feeds it.</summary>
public sealed class QualityStage(QcLimits limits) : IStage
{
    public string Name => "quality";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var image = item.Image!;
        var report = QualityChecks.Evaluate(image.Header, PixelStats.Of(image.Pixels), limits);
        return ValueTask.FromResult(report.Verdict == QcVerdict.Reject ? item.Reject(report) : item with { Qc = report });
    }
}

/// <summary>
/// Builds the model input exactly as the bundle's manifest says, then checks polarity on it: that check needs the
/// equalised picture the model will see, so it runs here rather than with the header checks.
/// </summary>
public sealed class PreprocessStage(Preprocessor preprocessor) : IStage
{
    public string Name => "preprocess";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var tensor = preprocessor.Run(item.Image!);
        if (QualityChecks.CheckPolarity(preprocessor.Ranks(tensor), preprocessor.Width, preprocessor.Height) is not { } finding)
        {
            return ValueTask.FromResult(item with { Tensor = tensor });
        }

        var qc = QcReport.Of([.. item.Qc?.Findings ?? [], finding]);
        return ValueTask.FromResult(qc.Verdict == QcVerdict.Reject ? item.Reject(qc) : item with { Tensor = tensor, Qc = qc });
    }
}

/// <summary>Runs the model. The tensor is dropped once used: it is not part of the record.</summary>
public sealed class InferStage(OnnxScorer scorer, ModelIdentity model) : IStage
{
    public string Name => "infer";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var output = scorer.Score(item.Tensor!);
        return ValueTask.FromResult(item with { Output = output, Tensor = null, Model = model, ExecutionProvider = scorer.ProviderName });
    }
}

/// <summary>
/// Refer / no-refer at the threshold in force: an override applied at run time (page or province, kept in the record),
/// else the site's configured one, else the bundle's.
/// </summary>
public sealed class DecideStage(double bundleThreshold, double? siteThreshold, IThresholdOverrides? overrides = null) : IStage
{
    public string Name => "decide";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken) =>
        ValueTask.FromResult(item with { Decision = ThresholdPolicy.Decide(item.Output!.Probability, bundleThreshold, overrides?.Current?.Threshold ?? siteThreshold), Status = ScreeningStatus.Screened });
}
