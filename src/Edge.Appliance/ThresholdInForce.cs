using System.Globalization;
using Edge.Domain;
using Edge.Storage;

namespace Edge.Appliance;

/// <summary>
/// The threshold decisions use, which the programme's command or the site's calibration on the page can change while
/// screening goes on: the one in-memory authority, read by the decide stage. Precedence: the override (programme or
/// site, the newest in the record) for the model in force, else the site's configured one (<c>Edge:Decision:Threshold</c>),
/// else the bundle's. Overrides and the configured threshold are recorded with results as source "site".
/// </summary>
public sealed class ThresholdInForce
{
    private readonly Lock _lock = new();

    // Held from the record write to the in-memory update, so page and command changes take effect in the record's order.
    private readonly Lock _changeLock = new();
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

    /// <summary>True when the record holds an override for another model, so it is not used.</summary>
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

    /// <summary>Sets (or, with null, clears) the override; the caller has recorded it first.</summary>
    public void Apply(ThresholdOverride? value)
    {
        lock (_lock)
        {
            _override = value;
        }
    }

    /// <summary>
    /// Writes a change to the record, then, if <paramref name="record"/> says it was written, puts it in force. Changes
    /// are serialised, so the value in force is always the record's newest.
    /// </summary>
    public bool Change(Func<bool> record, ThresholdOverride? value)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_changeLock)
        {
            if (!record())
            {
                return false;
            }

            Apply(value);
            return true;
        }
    }

    /// <summary>The audit line for the threshold in force; the same words at start and on a command, so a restart does not repeat it.</summary>
    public string AuditDetail() => AuditDetail(Decide(0), Model, Override);

    public static string AuditDetail(Decision decision, ModelIdentity model, ThresholdOverride? applied) =>
        string.Create(CultureInfo.InvariantCulture, $"{decision.Threshold:0.000000} from {decision.Source.ToString().ToLowerInvariant()} (model {model.Name} {model.Version})")
        + applied switch
        {
            null => "",
            { Origin: ThresholdOverride.ProgrammeOrigin } o => $" set by command {o.Detail} from {o.AppliedBy}",
            var o => $" set by {o.AppliedBy} on the page ({o.Detail})",
        };
}
