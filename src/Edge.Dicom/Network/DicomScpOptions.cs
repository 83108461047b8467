using System.Net;

namespace Edge.Dicom.Network;

/// <summary>How the DICOM listener behaves. Validated by <see cref="Validate"/> when the service starts.</summary>
public sealed class DicomScpOptions
{
    /// <summary>Our AE title: an association request naming another called AE is rejected.</summary>
    public string AeTitle { get; set; } = "EDGE";

    /// <summary>Calling AE titles allowed to associate; empty allows any.</summary>
    public IReadOnlyCollection<string> AllowedCallingAeTitles { get; set; } = [];

    /// <summary>Peer addresses allowed to connect; empty allows any.</summary>
    public IReadOnlyCollection<IPAddress> AllowedAddresses { get; set; } = [];

    /// <summary>0 lets the OS choose (tests); the bound port is on <see cref="DicomScp.Port"/>.</summary>
    public int Port { get; set; } = 104;

    /// <summary>Loopback unless told otherwise; the appliance passes <see cref="IPAddress.Any"/>.</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// The largest P-DATA PDU we accept, advertised in the A-ASSOCIATE-AC: it is also the size of the one receive
    /// buffer each association holds, so it bounds memory per association.
    /// </summary>
    public int MaxPduLength { get; set; } = 64 * 1024;

    /// <summary>Associations beyond this are rejected as transient "temporary congestion" so the console retries.</summary>
    public int MaxAssociations { get; set; } = 8;

    /// <summary>The association request must arrive within this; also how long we wait for the peer to close after release.</summary>
    public TimeSpan ArtimTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>No PDU for this long on an established association: A-ABORT.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>A received data set larger than this aborts the association (its temporary file is removed).</summary>
    public long MaxObjectSize { get; set; } = 1L << 30;

    /// <summary>C-STORE is refused with A700 (out of resources) while the temporary folder's disk has less free space than this.</summary>
    public long FreeDiskFloorBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// Where objects are written while they arrive. Must be on the same file system as the sink's destination so
    /// that handing an object over is an atomic rename.
    /// </summary>
    public string TemporaryDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "edge-dicom-incoming");

    /// <summary>How long <see cref="DicomScp.StopAsync"/> lets running associations finish before aborting them.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Every problem, each naming its option; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!IsValidAeTitle(AeTitle))
        {
            problems.Add($"{nameof(AeTitle)} must be 1 to 16 printable ASCII characters, not only spaces, without backslash.");
        }

        foreach (var calling in AllowedCallingAeTitles)
        {
            if (!IsValidAeTitle(calling))
            {
                problems.Add($"{nameof(AllowedCallingAeTitles)} holds an invalid AE title '{calling}'.");
            }
        }

        if (Port is < 0 or > 65535)
        {
            problems.Add($"{nameof(Port)} must be 0..65535.");
        }

        // PS3.8 lets a peer announce any length; below 4 KiB DCMTK refuses, above 16 MiB one buffer per association is too much for the board.
        if (MaxPduLength is < 4096 or > 16 * 1024 * 1024)
        {
            problems.Add($"{nameof(MaxPduLength)} must be 4096..16777216 bytes.");
        }

        if (MaxAssociations < 1)
        {
            problems.Add($"{nameof(MaxAssociations)} must be at least 1.");
        }

        if (ArtimTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(ArtimTimeout)} must be positive.");
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(IdleTimeout)} must be positive.");
        }

        if (StopTimeout < TimeSpan.Zero)
        {
            problems.Add($"{nameof(StopTimeout)} must not be negative.");
        }

        if (MaxObjectSize < 1024)
        {
            problems.Add($"{nameof(MaxObjectSize)} must be at least 1024 bytes.");
        }

        if (FreeDiskFloorBytes < 0)
        {
            problems.Add($"{nameof(FreeDiskFloorBytes)} must not be negative.");
        }

        if (string.IsNullOrWhiteSpace(TemporaryDirectory))
        {
            problems.Add($"{nameof(TemporaryDirectory)} is required.");
        }

        return problems;
    }

    /// <summary>AE titles are compared without their space padding (PS3.5 6.2: leading and trailing spaces are not significant).</summary>
    internal static bool IsValidAeTitle(string? title)
    {
        if (title is null || title.Length is 0 or > 16 || title.Trim(' ').Length == 0)
        {
            return false;
        }

        foreach (var c in title)
        {
            if (c is < ' ' or > '~' or '\\')
            {
                return false;
            }
        }

        return true;
    }
}
