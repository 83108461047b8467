using Edge.Appliance;
using Edge.Domain;
using Edge.Storage;

namespace Edge.Web.Tests;

/// <summary>The threshold as the appliance builds it at start, over a real record: the model's, read back from the record.</summary>
public static class Thresholds
{
    public static readonly ModelIdentity Model = new("tb-cxr", "test", new string('a', 64));

    public static ThresholdInForce InForce(ScreeningStore store, double bundle = 0.5, double? configured = null, ModelIdentity? model = null) =>
        new(model ?? Model, bundle, configured, store.CurrentThresholdOverride());

    /// <summary>The page's door over a fresh authority; with the province's notice as the appliance wires it.</summary>
    public static RecordedThresholdOverrides Over(ScreeningStore store, double bundle = 0.5, double? configured = null) =>
        Over(InForce(store, bundle, configured), store);

    public static RecordedThresholdOverrides Over(ThresholdInForce inForce, ScreeningStore store) =>
        new(store, inForce, TimeProvider.System, (applied, decision, detail) => SyncCommands.ThresholdNotice("tb/v1", "test-site", "test-device", applied, decision, detail));
}
