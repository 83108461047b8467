using System.Globalization;
using Edge.Domain;
using Edge.Storage;

namespace Edge.Appliance;

/// <summary>
/// The threshold decisions use, which a command from the programme can change while screening goes on. Precedence:
/// the programme's calibrated threshold for the model in force, else the site's configured one
/// (<c>Edge:Decision:Threshold</c>), else the bundle's. Both site kinds are recorded with results as source "site".
/// </summary>
public sealed class ThresholdInForce
{
    private readonly Lock _lock = new();
    private ThresholdOverride? _override;

    public ThresholdInForce(ModelIdentity model, double bundleThreshold, double? configured, ThresholdOverride? stored)
    {
        Model = model;
        BundleThreshold = bundleThreshold;
        Configured = configured;

        // A threshold is calibrated for one model: a new bundle falls back to the configured threshold until recalibrated.
        _override = stored is not null && stored.ModelSha256 == model.Sha256 ? stored : null;
        StoredOverrideLapsed = stored is not null && _override is null;
    }

    public ModelIdentity Model { get; }

    public double BundleThreshold { get; }

    public double? Configured { get; }

    /// <summary>True when the record holds the programme's threshold for another model, so it is not used.</summary>
    public bool StoredOverrideLapsed { get; }

    public ThresholdOverride? Override
    {
        get
        {
            lock (_lock)
            {
                return _override;
            }
        }
    }

    public Decision Decide(double probability) => ThresholdPolicy.Decide(probability, BundleThreshold, Override?.Threshold ?? Configured);

    /// <summary>Sets (or, with null, clears) the programme's threshold; the caller has recorded it first.</summary>
    public void Apply(ThresholdOverride? value)
    {
        lock (_lock)
        {
            _override = value;
        }
    }

    /// <summary>The audit line for the threshold in force; the same words at start and on a command, so a restart does not repeat it.</summary>
    public string AuditDetail() => AuditDetail(Decide(0), Model, Override);

    public static string AuditDetail(Decision decision, ModelIdentity model, ThresholdOverride? byCommand) =>
        string.Create(CultureInfo.InvariantCulture, $"{decision.Threshold:0.000000} from {decision.Source.ToString().ToLowerInvariant()} (model {model.Name} {model.Version})")
        + (byCommand is { } o ? $" set by command {o.CommandId} from {o.IssuedBy}" : "");
}
