using System.Globalization;
using System.Text.Json;
using Edge.Domain;
using Edge.Storage;
using Edge.Sync;
using Microsoft.Extensions.Logging;

namespace Edge.Appliance;

/// <summary>
/// A command's body as the programme sends it; each command reads the fields it needs (docs/sync-protocol.md).
/// Thresholds are on the 0-100 scale results carry.
/// </summary>
public sealed record CommandRequest(string? Id, string? IssuedBy, DateTimeOffset? IssuedAt, double? Threshold, bool? Clear, string? ModelSha256, string? Reason, string? Since, string? Date);

/// <summary>The answer on <c>.../cmd/{name}/reply</c>.</summary>
public sealed record CommandReply(
    string? Id,
    string Command,
    string Site,
    string Device,
    bool Accepted,
    string Detail,
    DateTimeOffset At,
    double? Threshold,
    string? ThresholdSource,
    int? Messages);

/// <summary>What a command does, decided before anything is written: accepted with its effects, or refused with the reason.</summary>
public sealed record CommandOutcome(bool Accepted, string Detail, ThresholdChange? Threshold = null, IReadOnlyList<OutboxMessage>? Messages = null, ThresholdOverride? NewOverride = null);

/// <summary>
/// Commands from the programme on <c>{root}/{site}/{device}/cmd/{name}</c>: <c>threshold</c>, <c>resend</c>, <c>stats</c>,
/// <c>drift</c>. The broker's ACL authenticates them (only the programme may publish there); here each is validated,
/// applied at most once (by its id), audited with who, what and when, and answered through the outbox.
/// </summary>
public sealed partial class SyncCommands(ScreeningStore store, ThresholdInForce threshold, SyncSummaries summaries, string topicRoot, string site, string device, ILogger logger, TimeProvider clock) : ISyncCommandHandler
{
    /// <summary>Outside 1-99 a threshold refers almost everyone or almost no one: a calibration error or a 0-1 value sent on the 0-100 scale.</summary>
    public const double MinThresholdPercent = 1;

    public const double MaxThresholdPercent = 99;

    private const int MaxTextLength = 128;

    public ValueTask HandleAsync(SyncCommand command, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        CommandRequest? request = null;
        string? parseError = null;
        try
        {
            request = JsonSerializer.Deserialize(command.Payload, SyncMessagesJsonContext.Default.CommandRequest);
        }
        catch (JsonException ex)
        {
            parseError = "the body is not a JSON command: " + ex.Message.Split('.')[0];
        }

        var name = IsPlainName(command.Name) ? command.Name : "unknown";
        var id = request?.Id is { } given && IsPlainName(given) ? given : null;
        var issuedBy = Printable(request?.IssuedBy);
        if (id is not null && store.FindCommand(id) is not null)
        {
            // QoS 1 may deliver twice; the first delivery was applied and answered.
            LogDuplicate(logger, name, id);
            return ValueTask.CompletedTask;
        }

        var outcome = parseError is not null ? Refused(parseError)
            : request is null ? Refused("the body is empty")
            : command.Retained ? Refused("commands must not be retained: a retained command would be applied again by every device that connects")
            : id is null ? Refused("id is missing or not 1-128 letters, digits, '.', '_', ':' or '-'")
            : issuedBy is null ? Refused("issuedBy is missing: the audit needs who sent the command")
            : Decide(name, request, id, issuedBy, now);

        var commandId = id ?? $"refused-{now.UtcTicks}-{Guid.NewGuid():N}";
        var replyId = $"reply/{name}/{commandId}";
        var inForce = outcome.NewOverride is not null || outcome.Threshold is ThresholdChange.Clear
            ? ThresholdPolicy.Decide(0, threshold.BundleThreshold, outcome.NewOverride?.Threshold ?? threshold.Configured)
            : threshold.Decide(0);
        var reply = new CommandReply(
            id,
            name,
            site,
            device,
            outcome.Accepted,
            outcome.Detail,
            now,
            name == "threshold" ? Words.Percent(inForce.Threshold) : null,
            name == "threshold" ? inForce.Source.ToString().ToLowerInvariant() : null,
            outcome.Messages?.Count);
        var replyMessage = new OutboxMessage(replyId, $"{topicRoot}/{site}/{device}/cmd/{name}/reply", JsonSerializer.Serialize(reply, SyncMessagesJsonContext.Default.CommandReply));
        var what = Describe(name, request);
        var audit = $"by {issuedBy ?? "(not given)"}: {what}; {(outcome.Accepted ? "applied" : "refused")}: {outcome.Detail}";
        var record = new CommandRecord(commandId, name, issuedBy ?? "", now, outcome.Accepted, replyId);
        var recorded = outcome.Threshold is null
            ? store.RecordCommand(record, audit, replyMessage, null, outcome.Messages ?? [])
            : threshold.Change(() => store.RecordCommand(record, audit, replyMessage, outcome.Threshold, outcome.Messages ?? []), outcome.NewOverride);
        if (recorded)
        {
            LogCommand(logger, name, commandId, outcome.Accepted ? "applied" : "refused", outcome.Detail);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The province's copy of a threshold applied on the device itself (the page's site calibration): unprompted, on
    /// the <c>threshold</c> reply topic, shaped as a reply with <c>id</c> naming the change, not a command.
    /// </summary>
    public static OutboxMessage ThresholdNotice(string topicRoot, string site, string device, ThresholdOverride applied, Decision inForce, string auditDetail)
    {
        ArgumentNullException.ThrowIfNull(applied);
        ArgumentNullException.ThrowIfNull(inForce);
        var id = $"{applied.Origin}:{applied.AppliedAt.UtcTicks}";
        var notice = new CommandReply(id, "threshold", site, device, true, "applied on the device: " + auditDetail, applied.AppliedAt, Words.Percent(inForce.Threshold), inForce.Source.ToString().ToLowerInvariant(), null);
        return new OutboxMessage($"notice/threshold/{id}", $"{topicRoot}/{site}/{device}/cmd/threshold/reply", JsonSerializer.Serialize(notice, SyncMessagesJsonContext.Default.CommandReply));
    }

    private CommandOutcome Decide(string name, CommandRequest request, string id, string issuedBy, DateTimeOffset now) => name switch
    {
        "threshold" => DecideThreshold(request, id, issuedBy, now),
        "resend" => DecideResend(request, id, now),
        "stats" or "drift" => DecideSummary(name, request, id, now),
        _ => Refused($"unknown command '{name}': this device takes threshold, resend, stats and drift"),
    };

    private CommandOutcome DecideThreshold(CommandRequest request, string id, string issuedBy, DateTimeOffset now)
    {
        if (request.Clear == true)
        {
            if (request.Threshold is not null)
            {
                return Refused("give either threshold or clear, not both");
            }

            var back = ThresholdPolicy.Decide(0, threshold.BundleThreshold, threshold.Configured);
            var detail = ThresholdInForce.AuditDetail(back, threshold.Model, null);
            return new CommandOutcome(true, "the threshold override is cleared; in force: " + detail, new ThresholdChange.Clear(threshold.Model.Sha256, now, issuedBy, ThresholdOverride.ProgrammeOrigin, id, detail));
        }

        if (request.Threshold is not { } percent || double.IsNaN(percent) || percent < MinThresholdPercent || percent > MaxThresholdPercent)
        {
            return Refused(string.Create(CultureInfo.InvariantCulture, $"threshold must be a score between {MinThresholdPercent} and {MaxThresholdPercent} (the 0-100 scale of results), or clear: true"));
        }

        if (request.ModelSha256 is { } sha && !string.Equals(sha, threshold.Model.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return Refused($"the threshold was calibrated for model sha256 {Printable(sha)}, not for the model in force ({threshold.Model.Version}, {threshold.Model.Sha256})");
        }

        var value = new ThresholdOverride(Math.Round(percent / 100, 6), threshold.Model.Sha256, now, issuedBy, ThresholdOverride.ProgrammeOrigin, id);
        var decision = ThresholdPolicy.Decide(0, threshold.BundleThreshold, value.Threshold);
        var auditDetail = ThresholdInForce.AuditDetail(decision, threshold.Model, value);
        var reason = Printable(request.Reason) is { } r ? $" (reason: {r})" : "";
        return new CommandOutcome(true, "in force for the next results: " + auditDetail + reason, new ThresholdChange.Set(value, auditDetail), NewOverride: value);
    }

    private CommandOutcome DecideResend(CommandRequest request, string id, DateTimeOffset now)
    {
        if (ParseSince(request.Since) is not { } since)
        {
            return Refused("since must be a date (yyyy-MM-dd, the site's day) or an ISO 8601 time with its offset");
        }

        if (since > now)
        {
            return Refused("since is in the future");
        }

        var replays = new List<OutboxMessage>();
        foreach (var (resultId, payload) in store.ResultMessages(summaries.ResultTopic, since, now.AddTicks(1)))
        {
            if (SyncPayload.FromJson(payload) is { } original)
            {
                // Same result id, so the collector keeps one copy; a new message id, so the outbox sends it again.
                replays.Add(new OutboxMessage($"{resultId}/resend/{id}", summaries.ResultTopic, (original with { Historical = true }).ToJson()));
            }
        }

        return new CommandOutcome(true, string.Create(CultureInfo.InvariantCulture, $"{replays.Count} result(s) since {since:O} queued again as historical"), Messages: replays);
    }

    private CommandOutcome DecideSummary(string name, CommandRequest request, string id, DateTimeOffset now)
    {
        var today = summaries.DateOf(now);
        DateOnly date = today;
        if (request.Date is not null && !DateOnly.TryParseExact(request.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
        {
            return Refused("date must be yyyy-MM-dd (the site's day), or absent for today");
        }

        if (date > today || date < today.AddYears(-1))
        {
            return Refused("date must be within the last year and not in the future");
        }

        var message = name == "stats" ? summaries.Stats(date, now, $"stats/{date:yyyy-MM-dd}/{id}") : summaries.Drift(date, now, $"drift/{date:yyyy-MM-dd}/{id}");
        return new CommandOutcome(true, $"{name} for {date:yyyy-MM-dd} queued", Messages: [message]);
    }

    private DateTimeOffset? ParseSince(string? since)
    {
        if (since is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(since, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return summaries.StartOf(date);
        }

        // An offset is required: a time without one would be read in some zone nobody chose.
        return since.Length > 19 && (since.EndsWith('Z') || since[^6] is '+' or '-') && DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) ? at : null;
    }

    private static string Describe(string name, CommandRequest? request) => request is null ? name : name switch
    {
        "threshold" when request.Clear == true => "clear the threshold",
        "threshold" => string.Create(CultureInfo.InvariantCulture, $"set the threshold to {request.Threshold}"),
        "resend" => $"resend since {Printable(request.Since)}",
        "stats" or "drift" => $"{name} for {Printable(request.Date) ?? "today"}",
        _ => name,
    };

    private static CommandOutcome Refused(string reason) => new(false, reason);

    private static bool IsPlainName(string value) =>
        value.Length is > 0 and <= MaxTextLength && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');

    /// <summary>Free text from the sender, kept to one printable line for the audit.</summary>
    private static string? Printable(string? text)
    {
        var line = text is null ? null : new string([.. text.Where(c => !char.IsControl(c))]).Trim();
        return string.IsNullOrEmpty(line) ? null : line.Length > MaxTextLength ? line[..MaxTextLength] : line;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {Name} {Id}: {Outcome}: {Detail}")]
    private static partial void LogCommand(ILogger logger, string name, string id, string outcome, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {Name} {Id} delivered again; it was handled the first time")]
    private static partial void LogDuplicate(ILogger logger, string name, string id);
}
