using Edge.Domain;
using Edge.Imaging;

namespace Edge.Web;

/// <summary>The console's lights as they are now, and the acknowledge that the button also gives.</summary>
public interface IConsoleView
{
    /// <summary>What the tower and buzzer show at this moment (the GPIO panel, real or simulated).</summary>
    ConsoleOutput Lights { get; }

    ConsoleState State { get; }

    /// <summary>Raised after every change of the console's output (from any thread).</summary>
    event Action? Changed;

    Task AcknowledgeAsync(CancellationToken cancellationToken);
}

public enum ReprintOutcome
{
    Printed,

    /// <summary>No slip was ever queued for this result (it had none, or it predates the print queue).</summary>
    NotAvailable,

    /// <summary>The printer is not ready (offline, out of paper, cover open): the slip stays queued and prints once it is.</summary>
    PrinterOffline,
}

/// <summary>Slips: reprint any result's slip that was queued, and its preview picture where the print path writes one.</summary>
public interface ISlipReprinter
{
    ValueTask<ReprintOutcome> ReprintAsync(string resultId, CancellationToken cancellationToken);

    /// <summary>PNG of the slip as printed, or null.</summary>
    byte[]? PreviewPng(string resultId);
}

/// <summary>The archived image of a result, windowed for display (8-bit), or null when it is no longer there.</summary>
public interface IExamImages
{
    ValueTask<Gray8Image?> DisplayAsync(string imagePath, int maxSide, CancellationToken cancellationToken);
}

/// <summary>The device's parts that are not in the record.</summary>
public interface IDeviceStatus
{
    DeviceSnapshot Snapshot();
}

public sealed record DeviceSnapshot(
    string Firmware,
    string ModelName,
    string ModelVersion,
    string Provider,
    double BundleThreshold,
    double? ConfiguredThreshold,
    string Printer,
    string DataPath,
    int? DicomPort,
    string DicomAeTitle,
    string SyncTarget);

/// <summary>Everything the page needs from the appliance, handed in by whoever hosts it.</summary>
public sealed record WebPorts(IConsoleView Console, ISlipReprinter Slips, IExamImages Images, IDeviceStatus Device, IThresholdOverrides Threshold, LiveUpdates Updates, TimeProvider Clock);
