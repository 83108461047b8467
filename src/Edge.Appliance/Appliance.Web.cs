using Edge.Domain;

namespace Edge.Appliance;

/// <summary>What the technician's page and the province's commands reach on the running appliance.</summary>
public sealed partial class Appliance
{
    /// <summary>A result left the pipeline, recorded and acted upon (its id; never patient data).</summary>
    public event Action<string>? ResultSettled;

    /// <summary>The one door for a run-time threshold change, page or MQTT; the decide stage reads it for every image.</summary>
    public IThresholdOverrides ThresholdOverrides { get; }

    /// <summary>The DICOM listener's port while it listens (the system may have chosen it), else null.</summary>
    public int? DicomPort { get; internal set; }

    internal void OnResultSettled(string id) => ResultSettled?.Invoke(id);
}
