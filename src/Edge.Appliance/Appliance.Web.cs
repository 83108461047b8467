using Edge.Domain;

namespace Edge.Appliance;

/// <summary>What the technician's page and the province's commands reach on the running appliance.</summary>
public sealed partial class Appliance
{
    /// <summary>A result left the pipeline, recorded and acted upon (its id; never patient data).</summary>
    public event Action<string>? ResultSettled;

    /// <summary>
    /// The page's door for a run-time threshold change, over <see cref="Threshold"/> (what the decide stage reads); the
    /// province's commands change the same one through <see cref="SyncCommands"/>.
    /// </summary>
    public IThresholdOverrides ThresholdOverrides { get; }

    /// <summary>Where the print queue writes each slip's PNG preview (the simulated printer), else null.</summary>
    public string? SlipPreviews { get; }

    /// <summary>The DICOM listener's port while it listens (the system may have chosen it), else null.</summary>
    public int? DicomPort { get; internal set; }

    internal void OnResultSettled(string id) => ResultSettled?.Invoke(id);
}
