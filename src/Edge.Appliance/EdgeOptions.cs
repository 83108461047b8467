using Edge.Domain;
using Edge.Inference;
using Edge.Sync;
using Microsoft.Extensions.Configuration;

namespace Edge.Appliance;

public sealed class SiteOptions
{
    public string Id { get; set; } = "";

    /// <summary>IANA zone for times printed on slips.</summary>
    public string TimeZone { get; set; } = "UTC";
}

public sealed class DeviceOptions
{
    public string Id { get; set; } = "";
}

public sealed class StorageOptions
{
    /// <summary>Data folder: spool, archive, record (SQLite), engine cache.</summary>
    public string Path { get; set; } = "";
}

public sealed class ModelOptions
{
    /// <summary>One bundle folder, or a folder of versioned bundles (newest that verifies wins).</summary>
    public string Path { get; set; } = "";

    /// <summary>PEM public key that bundle manifests must be signed with.</summary>
    public string PublicKeyPath { get; set; } = "";

    public List<ExecutionProvider> Providers { get; set; } = [];

    public int IntraOpThreads { get; set; }
}

public sealed class DecisionOptions
{
    /// <summary>The site's calibrated threshold (TB probability 0..1); when absent the bundle's sens90 threshold applies.</summary>
    public double? Threshold { get; set; }
}

public sealed class HardwareOptions
{
    /// <summary><c>simulated</c>, a built-in board profile (<c>hardware/profiles/</c>), or the path of a profile .json file.</summary>
    public string Profile { get; set; } = "simulated";

    /// <summary>With the simulated profile: where every GPIO line change is appended (the demo's lights.log).</summary>
    public string? LightsLog { get; set; }

    /// <summary>Where the printer simulator writes each slip's ESC/POS bytes and text; used when no <see cref="PrinterPort"/> is set.</summary>
    public string? SlipDirectory { get; set; }

    /// <summary>The thermal printer: a serial port (/dev/ttyTHS1, /dev/ttyUSB0) or a device file (/dev/usb/lp0); absent: the simulator.</summary>
    public string? PrinterPort { get; set; }

    public int PrinterBaudRate { get; set; } = 9600;

    /// <summary><c>en</c>, or <c>zh-CN</c> for Chinese with English (GB18030; the printer needs Chinese fonts).</summary>
    public string SlipLanguage { get; set; } = "en";

    /// <summary>The site's name as printed; absent: the site id.</summary>
    public string? SiteName { get; set; }

    /// <summary>Print the local exam reference (accession or patient ID) on the slip. Off unless the site asks: it is PHI.</summary>
    public bool ShowExamReference { get; set; }

    public bool MuteReferBuzzer { get; set; }

    public bool MuteFaultBuzzer { get; set; }

    public Edge.Domain.SlipLanguage Language() => SlipLanguage == "zh-CN" ? Edge.Domain.SlipLanguage.Chinese : Edge.Domain.SlipLanguage.English;
}

public sealed class IntakeOptions
{
    /// <summary>Folder watched for images (USB stick or share); files are moved into the spool.</summary>
    public string WatchPath { get; set; } = "";

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A file must be unchanged this long before it is taken, so half-copied files are left alone.</summary>
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromMilliseconds(500);
}

public sealed class OutputOptions
{
    /// <summary>Where results.jsonl and heatmap overlays are written.</summary>
    public string Path { get; set; } = "";
}

public sealed class QualityOptions
{
    public int MinAgeYears { get; set; } = 15;

    public int MinDimension { get; set; } = 128;

    public QcLimits ToLimits() => new() { MinAgeYears = MinAgeYears, MinDimension = MinDimension };
}

public sealed class DicomOptions
{
    /// <summary>Whether <c>run</c> listens for the console's C-STORE.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The DICOM listener port; 0 lets the system choose (the demo), and the log says which.</summary>
    public int Port { get; set; } = 11112;

    public string AeTitle { get; set; } = "EDGE";

    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>Calling AE titles allowed to send; empty allows any.</summary>
    public List<string> AllowedCallingAeTitles { get; set; } = [];

    /// <summary>Peer IP addresses allowed to connect; empty allows any.</summary>
    public List<string> AllowedAddresses { get; set; } = [];

    public int MaxAssociations { get; set; } = 8;

    /// <summary>Where result objects (SR, Secondary Capture) are sent: the console and/or the PACS.</summary>
    public List<DicomDestination> Destinations { get; set; } = [];

    /// <summary>Below this much free disk, C-STORE is answered A700 (out of resources) instead of filling the disk.</summary>
    public long FreeDiskFloorMb { get; set; } = 512;

    /// <summary>A CT series is complete once no slice of it has arrived for this long; it is then judged and recorded as one.</summary>
    public TimeSpan CtSeriesQuietPeriod { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class MqttOptions : MqttLinkOptions
{
    /// <summary>Run an in-process broker on loopback and publish to it (the demo; a site without a provincial link yet).</summary>
    public bool Embedded { get; set; }

    /// <summary>The drain's ceiling after an outage, so a backlog does not flood a thin link or the broker.</summary>
    public int MaxMessagesPerSecond { get; set; } = 50;

    public TimeSpan MinReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>What is synced to the programme, beside the link itself (<see cref="MqttOptions"/>).</summary>
public sealed class SyncOptions
{
    /// <summary>
    /// The site's secret for <c>subject.pseudoId</c> (HMAC-SHA256 of the patient ID): a file of at least 32 random bytes,
    /// the same on every appliance of the site. Required with a provincial broker; absent: no pseudonym is sent.
    /// </summary>
    public string? PseudonymKeyPath { get; set; }

    /// <summary>How often the device looks whether a finished day's statistics and drift summary are due.</summary>
    public TimeSpan SummaryCheckInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class WebOptions
{
    /// <summary>Where <c>run</c> serves the technician's page (<c>;</c>-separated); empty: only with <c>--serve</c>, on <see cref="DefaultUrls"/>.</summary>
    public string Urls { get; set; } = "";

    /// <summary>PBKDF2 hash of the page's PIN (<c>edge-appliance hash-pin</c>); required when <see cref="Urls"/> reach beyond localhost.</summary>
    public string? PinHash { get; set; }

    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    public int MaxLoginAttempts { get; set; } = 5;

    public TimeSpan LoginLockout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>en</c> or <c>zh-CN</c> until the user switches.</summary>
    public string Language { get; set; } = "en";

    /// <summary>Site calibration: the sensitivity the threshold must reach, and the fewest confirmed cases of each kind.</summary>
    public double TargetSensitivity { get; set; } = 0.90;

    public int MinPositives { get; set; } = 20;

    public int MinNegatives { get; set; } = 20;

    public const string DefaultUrls = "http://127.0.0.1:8080";

    public Edge.Web.WebPageOptions ToPageOptions(TimeZoneInfo timeZone) => new()
    {
        Urls = [.. (string.IsNullOrWhiteSpace(Urls) ? DefaultUrls : Urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        PinHash = PinHash,
        SessionIdleTimeout = SessionIdleTimeout,
        MaxLoginAttempts = MaxLoginAttempts,
        LoginLockout = LoginLockout,
        Language = Language,
        TimeZone = timeZone,
        Calibration = new Edge.Domain.CalibrationSettings(TargetSensitivity, MinPositives, MinNegatives),
    };
}

/// <summary>All of <c>Edge:*</c>, bound once at start by the source-generated binder and validated before anything runs.</summary>
public sealed class EdgeOptions
{
    public SiteOptions Site { get; set; } = new();

    public DeviceOptions Device { get; set; } = new();

    public StorageOptions Storage { get; set; } = new();

    public ModelOptions Model { get; set; } = new();

    public DecisionOptions Decision { get; set; } = new();

    public HardwareOptions Hardware { get; set; } = new();

    public IntakeOptions Intake { get; set; } = new();

    public OutputOptions Output { get; set; } = new();

    public QualityOptions Quality { get; set; } = new();

    public DicomOptions Dicom { get; set; } = new();

    public MqttOptions Mqtt { get; set; } = new();

    public WebOptions Web { get; set; } = new();

    public SyncOptions Sync { get; set; } = new();

    /// <summary>appsettings (the given file, else next to the program, else /etc/edge) plus <c>Edge__Section__Key</c> environment overrides.</summary>
    public static EdgeOptions Load(string? configPath)
    {
        var builder = new ConfigurationBuilder();
        var path = configPath ?? DefaultConfigPath();
        if (configPath is not null && !File.Exists(configPath))
        {
            throw new ConfigurationException([$"Configuration file {configPath} does not exist."]);
        }

        if (path is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(path), optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables();
        var options = new EdgeOptions();
        try
        {
            builder.Build().GetSection("Edge").Bind(options);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new ConfigurationException([$"Configuration cannot be read: {ex.Message}"]);
        }

        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        return options;
    }

    /// <summary>Every problem at once, each phrased so a technician knows which key to fix.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        Require(Site.Id, "Edge:Site:Id", problems);
        Require(Device.Id, "Edge:Device:Id", problems);
        Require(Storage.Path, "Edge:Storage:Path", problems);
        Require(Model.Path, "Edge:Model:Path", problems);
        Require(Model.PublicKeyPath, "Edge:Model:PublicKeyPath", problems);
        Require(Output.Path, "Edge:Output:Path", problems);
        if (Decision.Threshold is { } t && t is <= 0 or >= 1)
        {
            problems.Add($"Edge:Decision:Threshold is {t}: it must be a TB probability between 0 and 1 (exclusive), or absent to use the model's threshold.");
        }

        if (!Edge.Hardware.BoardProfile.BuiltIn.Contains(Hardware.Profile) && !(Hardware.Profile.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(Hardware.Profile)))
        {
            problems.Add($"Edge:Hardware:Profile '{Hardware.Profile}' is not known: use one of {string.Join(", ", Edge.Hardware.BoardProfile.BuiltIn)} or the path of a profile .json file.");
        }

        if (Hardware.SlipLanguage is not ("en" or "zh-CN"))
        {
            problems.Add($"Edge:Hardware:SlipLanguage '{Hardware.SlipLanguage}' is not supported: use 'en' or 'zh-CN'.");
        }

        if (Hardware.PrinterBaudRate <= 0)
        {
            problems.Add("Edge:Hardware:PrinterBaudRate must be positive (9600 or 115200 on most thermal printers).");
        }

        if (Dicom.Port is < 0 or > 65535)
        {
            problems.Add($"Edge:Dicom:Port {Dicom.Port} is not a TCP port (1-65535, or 0 to let the system choose).");
        }

        if (string.IsNullOrWhiteSpace(Dicom.AeTitle) || Dicom.AeTitle.Length > 16)
        {
            problems.Add("Edge:Dicom:AeTitle must be 1 to 16 characters.");
        }

        foreach (var address in Dicom.AllowedAddresses.Append(Dicom.BindAddress).Where(a => !System.Net.IPAddress.TryParse(a, out _)))
        {
            problems.Add($"Edge:Dicom: '{address}' is not an IP address (BindAddress, AllowedAddresses).");
        }

        foreach (var destination in Dicom.Destinations.Where(d => string.IsNullOrWhiteSpace(d.AeTitle) || d.AeTitle.Length > 16 || string.IsNullOrWhiteSpace(d.Host) || d.Port is < 1 or > 65535))
        {
            problems.Add($"Edge:Dicom:Destinations: '{destination}' needs an AE title of 1-16 characters, a host and a port 1-65535.");
        }

        if (Dicom.MaxAssociations < 1 || Dicom.FreeDiskFloorMb < 0)
        {
            problems.Add("Edge:Dicom:MaxAssociations must be at least 1 and Edge:Dicom:FreeDiskFloorMb not negative.");
        }

        if (Mqtt.Port is < 1 or > 65535)
        {
            problems.Add($"Edge:Mqtt:Port {Mqtt.Port} is not a TCP port (1-65535).");
        }

        if (Mqtt.MaxMessagesPerSecond < 1)
        {
            problems.Add($"Edge:Mqtt:MaxMessagesPerSecond {Mqtt.MaxMessagesPerSecond} must be at least 1.");
        }

        if (Mqtt.MinReconnectDelay <= TimeSpan.Zero || Mqtt.MaxReconnectDelay < Mqtt.MinReconnectDelay)
        {
            problems.Add("Edge:Mqtt:MinReconnectDelay must be positive and Edge:Mqtt:MaxReconnectDelay not below it.");
        }

        if (string.IsNullOrWhiteSpace(Mqtt.TopicRoot) || Mqtt.TopicRoot.StartsWith('/') || Mqtt.TopicRoot.EndsWith('/') || Mqtt.TopicRoot.IndexOfAny(['#', '+']) >= 0)
        {
            problems.Add($"Edge:Mqtt:TopicRoot '{Mqtt.TopicRoot}' must be a topic without wildcards or a leading or trailing '/' (e.g. tb/v1).");
        }

        if (!string.IsNullOrWhiteSpace(Mqtt.Host) && Mqtt.UseTls)
        {
            var hasPem = !string.IsNullOrWhiteSpace(Mqtt.ClientCertPath) || !string.IsNullOrWhiteSpace(Mqtt.ClientKeyPath);
            var hasPfx = !string.IsNullOrWhiteSpace(Mqtt.ClientPfxPath);
            if (hasPem && hasPfx)
            {
                problems.Add("Edge:Mqtt: set either ClientCertPath and ClientKeyPath (PEM) or ClientPfxPath, not both.");
            }

            if (hasPem && (string.IsNullOrWhiteSpace(Mqtt.ClientCertPath) || string.IsNullOrWhiteSpace(Mqtt.ClientKeyPath)))
            {
                problems.Add("Edge:Mqtt:ClientCertPath and Edge:Mqtt:ClientKeyPath go together: the certificate and its private key.");
            }

            foreach (var (key, path) in new[] { ("CaPath", Mqtt.CaPath), ("ClientCertPath", Mqtt.ClientCertPath), ("ClientKeyPath", Mqtt.ClientKeyPath), ("ClientPfxPath", Mqtt.ClientPfxPath) })
            {
                if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
                {
                    problems.Add($"Edge:Mqtt:{key} {path} does not exist.");
                }
            }
        }

        ValidateSync(problems);

        if (Model.IntraOpThreads < 0)
        {
            problems.Add("Edge:Model:IntraOpThreads cannot be negative.");
        }

        if (!TimeZoneInfo.TryFindSystemTimeZoneById(Site.TimeZone, out _))
        {
            problems.Add($"Edge:Site:TimeZone '{Site.TimeZone}' is not a known time zone (e.g. Africa/Johannesburg).");
        }

        if (Intake.PollInterval <= TimeSpan.Zero)
        {
            problems.Add("Edge:Intake:PollInterval must be positive.");
        }

        if (Dicom.CtSeriesQuietPeriod <= TimeSpan.Zero || Dicom.CtSeriesQuietPeriod > TimeSpan.FromHours(1))
        {
            problems.Add($"Edge:Dicom:CtSeriesQuietPeriod {Dicom.CtSeriesQuietPeriod} must be positive and at most an hour (e.g. 00:00:30).");
        }

        problems.AddRange(Web.ToPageOptions(TimeZoneInfo.Utc).Validate());

        return problems;
    }

    private void ValidateSync(List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(Sync.PseudonymKeyPath))
        {
            if (!string.IsNullOrWhiteSpace(Mqtt.Host) && !Mqtt.Embedded)
            {
                problems.Add("Edge:Sync:PseudonymKeyPath is not set: results synced to a provincial broker carry a pseudonym keyed by the site's secret (a file of at least 32 random bytes, e.g. head -c 32 /dev/urandom).");
            }
        }
        else if (!File.Exists(Sync.PseudonymKeyPath))
        {
            problems.Add($"Edge:Sync:PseudonymKeyPath {Sync.PseudonymKeyPath} does not exist.");
        }
        else if (new FileInfo(Sync.PseudonymKeyPath).Length < Edge.Sync.PatientPseudonym.MinimumKeyBytes)
        {
            problems.Add($"Edge:Sync:PseudonymKeyPath {Sync.PseudonymKeyPath} holds fewer than {Edge.Sync.PatientPseudonym.MinimumKeyBytes} bytes: use at least 32 random bytes.");
        }

        if (Sync.SummaryCheckInterval <= TimeSpan.Zero)
        {
            problems.Add("Edge:Sync:SummaryCheckInterval must be positive.");
        }
    }

    public TimeZoneInfo SiteTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(Site.TimeZone);

    public InferenceSettings InferenceSettings() => new()
    {
        Providers = Model.Providers.Count > 0 ? Model.Providers : [ExecutionProvider.TensorRT, ExecutionProvider.Cuda, ExecutionProvider.Cpu],
        EngineCachePath = System.IO.Path.Combine(Storage.Path, "trt-cache"),
        IntraOpThreads = Model.IntraOpThreads,
    };

    private static string? DefaultConfigPath()
    {
        var besideProgram = System.IO.Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (File.Exists(besideProgram))
        {
            return besideProgram;
        }

        return File.Exists("/etc/edge/appsettings.json") ? "/etc/edge/appsettings.json" : null;
    }

    private static void Require(string value, string key, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add($"{key} is not set.");
        }
    }
}

/// <summary>The configuration boundary's single failure type: every problem found, for one clear report.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; }
}
