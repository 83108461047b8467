using Edge.Domain;
using Edge.Inference;
using Edge.Storage;

namespace Edge.Appliance;

/// <summary>One step of the screening pipeline: one case in, the same case with this step's part filled in, out.</summary>
public interface IStage
{
    string Name { get; }

    /// <summary>Whether the stage also runs for a case already settled (rejected or failed): record and act do.</summary>
    bool RunsWhenSettled => false;

    /// <summary>
    /// How many cases the stage may work on at once. Above one only for work that depends on no other case and on no
    /// order (pictures, files of its own): the pipeline still hands cases on in order.
    /// </summary>
    int Parallelism => 1;

    ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the spooled file into pixels and header. An unreadable file is rejected with the reason, and kept.
/// Each decode is noted in the record before it starts and cleared when it ends, however it ends, so a file whose decoding
/// took the whole process down is found on restart. It is then decoded once in a child process first: a file that crashes
/// the decoder there is rejected instead of crashing the appliance forever, while one that was merely cut short by a power
/// cut or a kill is screened as usual (<see cref="DecodeGuard"/>).
/// </summary>
public sealed class IntakeStage(IImageFileReader reader, ScreeningStore attempts, TimeProvider clock, IIsolatedDecode? isolated = null) : IStage
{
    public string Name => "intake";

    public async ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken)
    {
        var unfinished = attempts.BeginDecode(item.Received.Id, clock.GetUtcNow());
        var survived = unfinished > 0 && isolated is not null
            ? await isolated.SurvivesAsync(item.Received.SpoolPath, cancellationToken).ConfigureAwait(false)
            : null;
        if (DecodeGuard.Refuse(unfinished, survived) is { } finding)
        {
            attempts.AppendAudit("decoder-crash", item.Received.Id, finding.Message, clock.GetUtcNow());
            return item.Reject(QcReport.Of([finding]));
        }

        try
        {
            var image = await reader.ReadAsync(item.Received.SpoolPath, cancellationToken).ConfigureAwait(false);
            return item with { Image = image };
        }
        catch (ImageReadException ex)
        {
            return item.Reject(QcReport.Of([new QcFinding("unreadable", QcVerdict.Reject, ex.Message)]));
        }
        finally
        {
            // Reached whenever the process survives the decode: only a crash leaves the attempt standing.
            attempts.EndDecode(item.Received.Id);
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

/// <summary>Refer / no-refer at the threshold in force when the case gets here: the programme's, the site's, else the bundle's.</summary>
public sealed class DecideStage(ThresholdInForce threshold) : IStage
{
    public string Name => "decide";

    public ValueTask<ScreeningCase> RunAsync(ScreeningCase item, CancellationToken cancellationToken) =>
        ValueTask.FromResult(item with { Decision = threshold.Decide(item.Output!.Probability), Status = ScreeningStatus.Screened });
}
