using Edge.Sync;
using Microsoft.Extensions.Configuration;

namespace Edge.Collector;

/// <summary>The provincial broker and how this collector takes its share of the devices' messages.</summary>
public sealed class CollectorMqttOptions : MqttLinkOptions
{
    /// <summary>MQTT 5 shared-subscription group: collectors in one group split results, stats and drift between them.</summary>
    public string ShareGroup { get; set; } = "collectors";

    /// <summary>
    /// Stable per collector instance, so the broker keeps its session (and queues its share) across a restart; two
    /// collectors must not share one. Absent: <c>edge-collector-{host name}</c>.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>How long the broker keeps this collector's session and queued messages while it is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>MQTT 5 Receive Maximum: unacknowledged messages the broker may have in flight to us; bounds a batch.</summary>
    public int ReceiveMaximum { get; set; } = 1000;

    /// <summary>Messages committed in one transaction at most.</summary>
    public int BatchSize { get; set; } = 500;

    public TimeSpan MinReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    public string EffectiveClientId => string.IsNullOrWhiteSpace(ClientId) ? $"edge-collector-{Environment.MachineName}" : ClientId;
}

public sealed class CollectorSqliteOptions
{
    /// <summary>The SQLite file used when no PostgreSQL connection string is set.</summary>
    public string Path { get; set; } = "collector.db";
}

public sealed class CollectorPostgresOptions
{
    /// <summary>When set, results go to PostgreSQL instead of SQLite (e.g. <c>Host=db;Database=tb;Username=collector</c>).</summary>
    public string? ConnectionString { get; set; }
}

public sealed class CollectorWebOptions
{
    /// <summary>Dashboard and API; empty: no web server.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8090";
}

/// <summary>One DHIS2 data element an indicator is reported as.</summary>
public sealed class Dhis2DataElementOptions
{
    public string Id { get; set; } = "";

    /// <summary>Report per age band and sex (category option combos); otherwise one value on the default combo.</summary>
    public bool Disaggregated { get; set; }
}

/// <summary>How indicators, sites and disaggregations map onto the province's DHIS2 metadata (docs/collector.md).</summary>
public sealed class Dhis2Options
{
    public string? DataSet { get; set; }

    /// <summary>Site id (as in the topics) to DHIS2 organisation unit id.</summary>
    public Dictionary<string, string> OrgUnits { get; set; } = [];

    /// <summary>Indicator (<c>screened</c>, <c>presumptive</c>, <c>rejected</c>, <c>results</c>) to data element.</summary>
    public Dictionary<string, Dhis2DataElementOptions> DataElements { get; set; } = [];

    /// <summary><c>{ageBand}/{sex}</c> (e.g. <c>15-24/M</c>), <c>unknown</c> and <c>default</c> to category option combo id.</summary>
    public Dictionary<string, string> CategoryOptionCombos { get; set; } = [];

    public string? AttributeOptionCombo { get; set; }
}

public sealed class FhirOptions
{
    /// <summary>Canonical URL of the Measure the MeasureReport answers.</summary>
    public string MeasureUrl { get; set; } = "urn:edge:measure:tb-cxr-screening";
}

/// <summary>All of <c>Collector:*</c>, bound by the source-generated binder and validated before anything runs.</summary>
public sealed class CollectorOptions
{
    public CollectorMqttOptions Mqtt { get; set; } = new();

    public CollectorSqliteOptions Sqlite { get; set; } = new();

    public CollectorPostgresOptions Postgres { get; set; } = new();

    public CollectorWebOptions Web { get; set; } = new();

    public Dhis2Options Dhis2 { get; set; } = new();

    public FhirOptions Fhir { get; set; } = new();

    public DriftFlagOptions Drift { get; set; } = new();

    /// <summary>appsettings (the given file, else beside the program, else /etc/edge/collector.json) plus <c>Collector__Section__Key</c>.</summary>
    public static CollectorOptions Load(string? configPath)
    {
        if (configPath is not null && !File.Exists(configPath))
        {
            throw new CollectorException($"Configuration file {configPath} does not exist.");
        }

        var path = configPath ?? new[] { Path.Combine(AppContext.BaseDirectory, "appsettings.json"), "/etc/edge/collector.json" }.FirstOrDefault(File.Exists);
        var builder = new ConfigurationBuilder();
        if (path is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(path), optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables();
        var options = new CollectorOptions();
        try
        {
            builder.Build().GetSection("Collector").Bind(options);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new CollectorException($"Configuration cannot be read: {ex.Message}");
        }

        var problems = options.Validate();
        return problems.Count == 0 ? options : throw new CollectorException("Configuration problems: " + string.Join(" ", problems));
    }

    /// <summary>Every problem at once, each naming its key.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Mqtt.Host))
        {
            problems.Add("Collector:Mqtt:Host is not set.");
        }

        if (Mqtt.Port is < 1 or > 65535)
        {
            problems.Add($"Collector:Mqtt:Port {Mqtt.Port} is not a TCP port (1-65535).");
        }

        if (string.IsNullOrWhiteSpace(Mqtt.TopicRoot) || Mqtt.TopicRoot.IndexOfAny(['#', '+']) >= 0 || Mqtt.TopicRoot.StartsWith('/') || Mqtt.TopicRoot.EndsWith('/'))
        {
            problems.Add($"Collector:Mqtt:TopicRoot '{Mqtt.TopicRoot}' must be a topic without wildcards or a leading or trailing '/'.");
        }

        if (Mqtt.ShareGroup is null || (Mqtt.ShareGroup.Length > 0 && string.IsNullOrWhiteSpace(Mqtt.ShareGroup)) || Mqtt.ShareGroup.IndexOfAny(['/', '#', '+']) >= 0)
        {
            problems.Add($"Collector:Mqtt:ShareGroup '{Mqtt.ShareGroup}' cannot be blank or hold '/', '#' or '+' (empty: plain subscriptions, one collector).");
        }

        if (Mqtt.ReceiveMaximum is < 1 or > 65535 || Mqtt.BatchSize < 1)
        {
            problems.Add("Collector:Mqtt:ReceiveMaximum must be 1-65535 and Collector:Mqtt:BatchSize at least 1.");
        }

        if (Mqtt.MinReconnectDelay <= TimeSpan.Zero || Mqtt.MaxReconnectDelay < Mqtt.MinReconnectDelay || Mqtt.Timeout <= TimeSpan.Zero || Mqtt.SessionExpiry < TimeSpan.Zero || Mqtt.SessionExpiry.TotalSeconds > uint.MaxValue)
        {
            problems.Add("Collector:Mqtt: MinReconnectDelay and Timeout must be positive, MaxReconnectDelay not below MinReconnectDelay, SessionExpiry not negative.");
        }

        if (string.IsNullOrWhiteSpace(Postgres.ConnectionString) && string.IsNullOrWhiteSpace(Sqlite.Path))
        {
            problems.Add("Collector:Sqlite:Path or Collector:Postgres:ConnectionString must be set.");
        }

        foreach (var (indicator, element) in Dhis2.DataElements)
        {
            if (!Indicators.Names.Contains(indicator))
            {
                problems.Add($"Collector:Dhis2:DataElements:{indicator}: not an indicator ({string.Join(", ", Indicators.Names)}).");
            }

            if (string.IsNullOrWhiteSpace(element.Id))
            {
                problems.Add($"Collector:Dhis2:DataElements:{indicator}:Id is not set.");
            }
        }

        problems.AddRange(Drift.Problems());
        return problems;
    }
}

/// <summary>The collector's single failure type at its boundaries: configuration, broker, store.</summary>
public sealed class CollectorException : Exception
{
    public CollectorException(string message)
        : base(message)
    {
    }

    public CollectorException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
