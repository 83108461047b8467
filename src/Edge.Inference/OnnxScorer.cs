using System.Diagnostics;
using Edge.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Inference;

/// <summary>Execution providers in the order the appliance prefers them.</summary>
public enum ExecutionProvider
{
    TensorRT,
    Cuda,
    Cpu,
}

public sealed record InferenceSettings
{
    /// <summary>Providers to try, best first; CPU is always tried last.</summary>
    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = [ExecutionProvider.TensorRT, ExecutionProvider.Cuda, ExecutionProvider.Cpu];

    /// <summary>Where TensorRT keeps built engines so a restart does not rebuild them (minutes on a Jetson).</summary>
    public string? EngineCachePath { get; init; }

    /// <summary>0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; init; }
}

/// <summary>
/// Runs a verified bundle with the best execution provider the installed ONNX Runtime offers: TensorRT (FP16, engine cache),
/// then CUDA, then CPU. A provider that is listed but fails to start (missing CUDA libraries, say) is skipped, not fatal.
/// </summary>
public sealed partial class OnnxScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ModelManifest _manifest;
    private readonly long[] _inputShape;
    private readonly string[] _outputNames;
    private readonly Lock _runLock = new();

    private OnnxScorer(InferenceSession session, ModelManifest manifest, ExecutionProvider provider)
    {
        _session = session;
        _manifest = manifest;
        Provider = provider;
        _inputShape = [1, 1, manifest.Preprocessing.Resize.Height, manifest.Preprocessing.Resize.Width];
        _outputNames = [manifest.Outputs.Score.Name, manifest.Outputs.Heatmap.Name];
        CheckGraphMatchesManifest();
    }

    public ExecutionProvider Provider { get; }

    public string ProviderName => Provider switch
    {
        ExecutionProvider.TensorRT => "TensorRT",
        ExecutionProvider.Cuda => "CUDA",
        _ => "CPU",
    };

    public static IReadOnlyList<string> AvailableProviders() => OrtEnvironment().GetAvailableProviders();

    /// <summary>
    /// The process-wide ONNX Runtime environment, with the runtime's own telemetry switched off before any session exists:
    /// a screening device sends nothing but its results, and only to the programme's broker.
    /// </summary>
    public static OrtEnv OrtEnvironment()
    {
        var env = OrtEnv.Instance();
        env.DisableTelemetryEvents();
        return env;
    }

    /// <summary>The providers to try, in order: the preferred ones the runtime lists, then CPU.</summary>
    public static IReadOnlyList<ExecutionProvider> PlanProviders(IReadOnlyList<ExecutionProvider> preferred, IReadOnlyCollection<string> available)
    {
        var plan = preferred.Where(p => p == ExecutionProvider.Cpu || available.Contains(OrtName(p))).Distinct().ToList();
        if (!plan.Contains(ExecutionProvider.Cpu))
        {
            plan.Add(ExecutionProvider.Cpu);
        }

        return plan;
    }

    /// <exception cref="ModelBundleException">No provider could run the model.</exception>
    public static OnnxScorer Create(ModelBundle bundle, InferenceSettings settings, ILogger logger)
    {
        var available = AvailableProviders();
        var failures = new List<string>();
        foreach (var provider in PlanProviders(settings.Providers, [.. available]))
        {
            SessionOptions? options = null;
            try
            {
                options = BuildOptions(provider, settings);
                var session = new InferenceSession(bundle.ModelBytes, options);
                var scorer = new OnnxScorer(session, bundle.Manifest, provider);
                LogProviderChosen(logger, scorer.ProviderName, string.Join(",", available));
                return scorer;
            }
            catch (OnnxRuntimeException ex)
            {
                failures.Add($"{provider}: {ex.Message}");
                LogProviderSkipped(logger, provider.ToString(), ex.Message);
            }
            finally
            {
                options?.Dispose();
            }
        }

        throw new ModelBundleException($"No execution provider could load model {bundle.Manifest.Name} {bundle.Manifest.Version}: {string.Join("; ", failures)}");
    }

    /// <summary>One image in, score and heatmap out. Serialised: one session, one caller at a time keeps memory flat on the device.</summary>
    public ModelOutput Score(float[] tensor)
    {
        if (tensor.Length != _inputShape[2] * _inputShape[3])
        {
            throw new ArgumentException($"Input tensor has {tensor.Length} values, the model takes {_inputShape[2] * _inputShape[3]}.", nameof(tensor));
        }

        lock (_runLock)
        {
            try
            {
                using var input = OrtValue.CreateTensorValueFromMemory(tensor, _inputShape);
                using var runOptions = new RunOptions();
                using var outputs = _session.Run(runOptions, [_manifest.Input.Name], [input], _outputNames);
                var score = outputs[0].GetTensorDataAsSpan<float>()[0];
                var heatmapValue = outputs[1];
                var shape = heatmapValue.GetTensorTypeAndShape().Shape;
                var heatmap = heatmapValue.GetTensorDataAsSpan<float>().ToArray();
                return new ModelOutput(score, heatmap, (int)shape[^1], (int)shape[^2]);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new ModelBundleException($"Inference failed on {ProviderName}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Runs the model once so the first real image does not pay for allocation and (on TensorRT) engine building.</summary>
    public TimeSpan WarmUp()
    {
        var watch = Stopwatch.StartNew();
        Score(new float[_inputShape[2] * _inputShape[3]]);
        return watch.Elapsed;
    }

    public void Dispose() => _session.Dispose();

    private static string OrtName(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.TensorRT => "TensorrtExecutionProvider",
        ExecutionProvider.Cuda => "CUDAExecutionProvider",
        _ => "CPUExecutionProvider",
    };

    private static SessionOptions BuildOptions(ExecutionProvider provider, InferenceSettings settings)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (settings.IntraOpThreads > 0)
        {
            options.IntraOpNumThreads = settings.IntraOpThreads;
        }

        switch (provider)
        {
            case ExecutionProvider.TensorRT:
                using (var trt = new OrtTensorRTProviderOptions())
                {
                    var trtOptions = new Dictionary<string, string> { ["trt_fp16_enable"] = "1" };
                    if (settings.EngineCachePath is { } cache)
                    {
                        Directory.CreateDirectory(cache);
                        trtOptions["trt_engine_cache_enable"] = "1";
                        trtOptions["trt_engine_cache_path"] = cache;
                    }

                    trt.UpdateOptions(trtOptions);
                    options.AppendExecutionProvider_Tensorrt(trt);
                }

                // Nodes TensorRT cannot take fall back to CUDA, then CPU, within the same session.
                options.AppendExecutionProvider_CUDA(0);
                break;
            case ExecutionProvider.Cuda:
                options.AppendExecutionProvider_CUDA(0);
                break;
        }

        return options;
    }

    private void CheckGraphMatchesManifest()
    {
        var inputs = _session.InputMetadata;
        if (!inputs.ContainsKey(_manifest.Input.Name))
        {
            throw new ModelBundleException($"Model graph has no input '{_manifest.Input.Name}' as its manifest says.");
        }

        foreach (var name in _outputNames)
        {
            if (!_session.OutputMetadata.ContainsKey(name))
            {
                throw new ModelBundleException($"Model graph has no output '{name}' as its manifest says.");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Inference on {Provider} (runtime offers {Available})")]
    private static partial void LogProviderChosen(ILogger logger, string provider, string available);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution provider {Provider} unavailable, trying the next: {Reason}")]
    private static partial void LogProviderSkipped(ILogger logger, string provider, string reason);
}
