using System.Diagnostics;
using Edge.Collector;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Faults;

/// <summary>How big a kill run is: images (half by the watched folder, half by C-STORE; every fifth one not a chest), kills.</summary>
public sealed record KillRunPlan
{
    public required int Images { get; init; }

    public required int Kills { get; init; }

    public int Seed { get; init; } = 20261207;

    /// <summary>Each run is killed once it has recorded something new, after a random delay up to this, so kills land anywhere.</summary>
    public TimeSpan MaxKillDelay { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>Files per storescu association, as a console sends a study at a time.</summary>
    public int FilesPerAssociation { get; init; } = 8;

    /// <summary>The whole run, kills and recovery included, must end within this.</summary>
    public TimeSpan Limit { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>Where one kill -9 landed: what the appliance, the console and the collector had done when it died.</summary>
public sealed record KillLanding(
    int Round,
    double SecondsIntoRun,
    double RunSeconds,
    long Recorded,
    long Registered,
    long Unsent,
    int InSpool,
    long AtCollector,
    int Acknowledged,
    int TakenUnanswered,
    int AssociationsOpen);

/// <summary>What a kill run left: both records, what the console saw, where each kill landed.</summary>
public sealed class KillRunOutcome
{
    public required KillRunPlan Plan { get; init; }

    /// <summary>Every image name sent (folder file names, and SOP Instance UID + ".dcm" for C-STORE), and whether it is a chest.</summary>
    public required IReadOnlyDictionary<string, bool> Sent { get; init; }

    public required IReadOnlyList<KillLanding> Kills { get; init; }

    public required IReadOnlyList<ApplianceResult> Appliance { get; init; }

    public required IReadOnlyList<CollectorResult> Collector { get; init; }

    /// <summary>C-STORE names storescu saw acknowledged, with how many times (a resend of an unanswered one may be answered twice).</summary>
    public required IReadOnlyDictionary<string, int> Acknowledged { get; init; }

    /// <summary>Names storescu had to send more than once (not acknowledged the first time).</summary>
    public required int Resent { get; init; }

    public required int Associations { get; init; }

    public required int FailedAssociations { get; init; }

    /// <summary>Result messages the collector received again after storing them (the outbox's at-least-once, seen).</summary>
    public required long CollectorDuplicates { get; init; }

    /// <summary>Seconds from each start or restart until the DICOM listener answered C-ECHO (the console can send again).</summary>
    public required IReadOnlyList<double> StartToReadySeconds { get; init; }

    /// <summary>Seconds from each restart to its first new result (recovery); the last is the final run's.</summary>
    public required IReadOnlyList<double> RestartToResultSeconds { get; init; }

    /// <summary>Seconds from the final restart until the collector held every result.</summary>
    public required double FinalRestartToCompleteSeconds { get; init; }

    public required double Seconds { get; init; }

    public required int LeftInSpool { get; init; }

    public required int LeftInInbox { get; init; }

    public required int FinalExitCode { get; init; }

    /// <summary>Sent names with other than exactly one result on the appliance (missing: 0, twice: 2).</summary>
    public IReadOnlyDictionary<string, int> NamesNotRecordedOnce =>
        Sent.Keys.Select(n => (n, Appliance.Count(a => a.OriginalName == n))).Where(p => p.Item2 != 1).ToDictionary(p => p.n, p => p.Item2);

    /// <summary>Results on the appliance for names never sent (would mean a spool file recovered under a wrong name).</summary>
    public IReadOnlyList<string> UnknownNames => [.. Appliance.Select(a => a.OriginalName).Where(n => !Sent.ContainsKey(n))];

    /// <summary>Collector ids held more than once.</summary>
    public IReadOnlyList<string> CollectorRepeats => [.. Collector.GroupBy(c => c.Id).Where(g => g.Count() > 1).Select(g => g.Key)];

    /// <summary>
    /// Results whose collector copy differs from the appliance's record (missing at either end, or another status, decision
    /// or quality codes), one line each.
    /// </summary>
    public IReadOnlyList<string> Mismatches
    {
        get
        {
            var held = Collector.GroupBy(c => c.Id).ToDictionary(g => g.Key, g => g.First());
            var problems = new List<string>();
            foreach (var a in Appliance)
            {
                if (!held.TryGetValue(a.Id, out var c))
                {
                    problems.Add($"{a.Id} ({a.OriginalName}): not at the collector");
                }
                else if (c.Status != a.Status || c.Decision != a.Decision || !c.Qc.SequenceEqual(a.QcCodes))
                {
                    problems.Add($"{a.Id}: appliance {a.Status}/{a.Decision}/[{string.Join(',', a.QcCodes)}], collector {c.Status}/{c.Decision}/[{string.Join(',', c.Qc)}]");
                }
            }

            var recorded = Appliance.Select(a => a.Id).ToHashSet();
            problems.AddRange(held.Keys.Where(id => !recorded.Contains(id)).Select(id => $"{id}: at the collector, not in the appliance's record"));
            return problems;
        }
    }

    /// <summary>Images whose outcome is not the one their content calls for: a chest screened, anything else rejected with a reason.</summary>
    public IReadOnlyList<string> WrongOutcomes =>
    [
        .. Appliance.Where(a => Sent.TryGetValue(a.OriginalName, out var chest) && (chest
                ? a.Status != "screened" || a.Decision is null
                : a.Status != "rejected" || a.QcCodes.Count == 0))
            .Select(a => $"{a.OriginalName}: {a.Status} [{string.Join(',', a.QcCodes)}]"),
    ];

    /// <summary>Acknowledged C-STORE names without a result on the appliance.</summary>
    public IReadOnlyList<string> AcknowledgedButLost => [.. Acknowledged.Keys.Where(n => Appliance.All(a => a.OriginalName != n))];
}

/// <summary>
/// The crash proof counted where the programme counts: the published appliance screening images that come by
/// its watched folder and by C-STORE from DCMTK storescu, syncing through a real Mosquitto to the real collector, is
/// killed (SIGKILL, as a power cut) at random moments and restarted; the console resends what was not acknowledged.
/// </summary>
public static class KillRun
{
    public const string Site = "fault-site";
    public const string Device = "fault-dev";

    private static string Chest1 => Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");

    /// <summary>JPEG 2000 (irreversible): storescu proposes it with -xw.</summary>
    private static string Chest2 => Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");

    /// <summary>A hip (JPEG lossless, -xs): the quality checks must reject it, with their reason.</summary>
    private static string Hip => Path.Combine(Repo.SharedDicom, "nonchest", "RG2_JPLL.dcm");

    public static async Task<KillRunOutcome> RunAsync(KillRunPlan plan, TempDirectory temp, Action<string> log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(temp);
        ArgumentNullException.ThrowIfNull(log);
        var clock = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(plan.Limit);
        var token = limit.Token;

        var (sent, folderFiles, chestCalls, hipCalls) = await PrepareAsync(plan, temp).ConfigureAwait(false);
        await using var broker = new MosquittoBroker();
        await broker.StartAsync().ConfigureAwait(false);
        var collectorOptions = new CollectorOptions
        {
            Mqtt =
            {
                Host = "127.0.0.1",
                Port = broker.Port,
                UseTls = false,
                ClientId = "province-collector",

                // One collector: a plain persistent subscription (docs/collector.md on Mosquitto 2.0 and shared ones).
                ShareGroup = "",
                MinReconnectDelay = TimeSpan.FromMilliseconds(200),
                MaxReconnectDelay = TimeSpan.FromSeconds(1),
            },
            Sqlite = { Path = temp.Combine("collector.db") },
            Web = { Urls = "" },
        };
        await using var collector = await CollectorHost.StartAsync(collectorOptions, NullLoggerFactory.Instance, token).ConfigureAwait(false);
        await collector.Ingest.Subscribed.WaitAsync(TimeSpan.FromSeconds(60), token).ConfigureAwait(false);
        long duplicates = 0;
        collector.Ingest.Committed += o => Interlocked.Add(ref duplicates, o.Duplicates);

        var dicomPort = Ports.Free();
        var config = ApplianceProcess.WriteConfig(temp, Site, Device, broker.Port, dicomPort);
        var database = temp.Combine("data", "edge.db");
        var spool = temp.Combine("data", "spool");
        var inbox = temp.Combine("inbox");
        foreach (var file in folderFiles)
        {
            // Renamed in, so the watcher never sees a half-copied file.
            File.Move(file, Path.Combine(inbox, Path.GetFileName(file)));
        }

        var console = new XrayConsole(dicomPort, plan.FilesPerAssociation);
        var consoleRun = Task.WhenAll(console.SendAllAsync(chestCalls, "-xw", token), console.SendAllAsync(hipCalls, "-xs", token));
        var random = new Random(plan.Seed);
        var kills = new List<KillLanding>();
        var recoveries = new List<double>();
        var readiness = new List<double>();
        ChildProcess? appliance = null;
        try
        {
            for (var round = 1; round <= plan.Kills; round++)
            {
                var before = Records.CountAppliance(database).Results;
                var started = Stopwatch.GetTimestamp();
                appliance = ChildProcess.Start(ApplianceProcess.Path, ["run", "--config", config], temp.Path);
                readiness.Add(await ApplianceProcess.WaitUntilEchoAsync(dicomPort, appliance, started).ConfigureAwait(false));
                console.Up();
                await WaitForProgressAsync(database, before, appliance, token).ConfigureAwait(false);
                recoveries.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                await Task.Delay(random.Next(0, (int)plan.MaxKillDelay.TotalMilliseconds + 1), token).ConfigureAwait(false);

                console.Down();
                var open = console.OpenAssociations;
                appliance.Kill();
                await appliance.DisposeAsync().ConfigureAwait(false);
                appliance = null;
                var (recorded, registered, unsent) = Records.CountAppliance(database);
                var landing = new KillLanding(
                    round,
                    clock.Elapsed.TotalSeconds,
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    recorded,
                    registered,
                    unsent,
                    Directory.Exists(spool) ? Directory.GetFiles(spool).Length : 0,
                    (await collector.Store.TotalsAsync(token).ConfigureAwait(false)).Results,
                    console.AcknowledgedCount,
                    TakenUnanswered(database, spool, console.Acknowledged.Keys, sent.Keys),
                    open);
                kills.Add(landing);
                log($"kill {round} at {landing.SecondsIntoRun:0.0} s ({landing.RunSeconds:0.0} s into its run): {recorded} recorded, {registered} registered, {landing.InSpool} in the spool, {unsent} unsent, {landing.AtCollector} at the collector, {landing.Acknowledged} C-STOREs acknowledged, {landing.TakenUnanswered} taken but not answered, {open} association(s) open");
            }

            var final = Stopwatch.GetTimestamp();
            var beforeFinal = Records.CountAppliance(database).Results;
            appliance = ChildProcess.Start(ApplianceProcess.Path, ["run", "--config", config], temp.Path);
            readiness.Add(await ApplianceProcess.WaitUntilEchoAsync(dicomPort, appliance, final).ConfigureAwait(false));
            console.Up();
            if (beforeFinal < sent.Count)
            {
                await WaitForProgressAsync(database, beforeFinal, appliance, token).ConfigureAwait(false);
                recoveries.Add(Stopwatch.GetElapsedTime(final).TotalSeconds);
            }

            await consoleRun.WaitAsync(token).ConfigureAwait(false);
            var settled = await WaitForSettledAsync(database, spool, inbox, sent.Count, appliance, token).ConfigureAwait(false);
            await Records.WaitForStoredAsync(collector, settled, plan.Limit, () => "appliance: " + appliance.Stderr[^Math.Min(appliance.Stderr.Length, 2000)..]).ConfigureAwait(false);
            var complete = Stopwatch.GetElapsedTime(final).TotalSeconds;
            var exit = await ApplianceProcess.StopAsync(appliance, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            log($"final run: {settled} results recorded, collector complete {complete:0.0} s after the restart, exit {exit}");

            await collector.StopAsync().ConfigureAwait(false);
            return new KillRunOutcome
            {
                Plan = plan,
                Sent = sent,
                Kills = kills,
                Appliance = await Records.ReadApplianceAsync(database).ConfigureAwait(false),
                Collector = await Records.ReadCollectorAsync(collectorOptions.Sqlite.Path).ConfigureAwait(false),
                Acknowledged = console.Acknowledged,
                Resent = console.Resent,
                Associations = console.Associations,
                FailedAssociations = console.FailedAssociations,
                CollectorDuplicates = Interlocked.Read(ref duplicates),
                RestartToResultSeconds = recoveries,
                StartToReadySeconds = readiness,
                FinalRestartToCompleteSeconds = complete,
                Seconds = clock.Elapsed.TotalSeconds,
                LeftInSpool = Directory.GetFiles(spool).Length,
                LeftInInbox = Directory.GetFiles(inbox).Length,
                FinalExitCode = exit,
            };
        }
        finally
        {
            if (appliance is not null)
            {
                await appliance.DisposeAsync().ConfigureAwait(false);
            }

            await limit.CancelAsync().ConfigureAwait(false);
            try
            {
                await consoleRun.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or TimeoutException)
            {
                // Only when the run failed before the console was done; the failure that ended it is what is reported.
            }
        }
    }

    /// <summary>
    /// The images: image i goes by the folder when even, by C-STORE when odd; it is the hip when i % 5 == 4. C-STORE
    /// copies get their own SOP Instance UID (the appliance names a received object after it).
    /// </summary>
    private static async Task<(Dictionary<string, bool> Sent, List<string> Folder, List<string> ChestCalls, List<string> HipCalls)> PrepareAsync(KillRunPlan plan, TempDirectory temp)
    {
        var staging = temp.Combine("staging");
        var outbox = temp.Combine("console");
        Directory.CreateDirectory(staging);
        Directory.CreateDirectory(outbox);
        var chestUid = await DicomCopies.SopInstanceUidAsync(Chest2).ConfigureAwait(false);
        var hipUid = await DicomCopies.SopInstanceUidAsync(Hip).ConfigureAwait(false);
        var chestBytes = await File.ReadAllBytesAsync(Chest2).ConfigureAwait(false);
        var hipBytes = await File.ReadAllBytesAsync(Hip).ConfigureAwait(false);
        var sent = new Dictionary<string, bool>(StringComparer.Ordinal);
        List<string> folder = [], chestCalls = [], hipCalls = [];
        for (var i = 0; i < plan.Images; i++)
        {
            var chest = i % 5 != 4;
            if (i % 2 == 0)
            {
                var name = $"img{i:0000}.dcm";
                var path = Path.Combine(staging, name);
                File.Copy(chest ? (i % 4 == 0 ? Chest1 : Chest2) : Hip, path);
                folder.Add(path);
                sent.Add(name, chest);
            }
            else
            {
                var uid = DicomCopies.Variant(chest ? chestUid : hipUid, i);
                var path = Path.Combine(outbox, uid + ".dcm");
                DicomCopies.WriteWithUid(chest ? chestBytes : hipBytes, chest ? chestUid : hipUid, uid, path);
                (chest ? chestCalls : hipCalls).Add(path);
                sent.Add(uid + ".dcm", chest);
            }
        }

        return (sent, folder, chestCalls, hipCalls);
    }

    /// <summary>
    /// C-STORE objects the appliance had taken (registered, or renamed into the spool) that the console was never told
    /// of: the kill fell between taking and answering, and the console's resend must not make a second result.
    /// </summary>
    private static int TakenUnanswered(string database, string spool, IEnumerable<string> acknowledged, IEnumerable<string> sent)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(spool))
        {
            // Spool files are named {id}_{original name}.
            taken.UnionWith(Directory.GetFiles(spool).Select(f => Path.GetFileName(f)).Where(n => n.Length > 33).Select(n => n[33..]));
        }

        taken.UnionWith(Records.ImageNames(database));
        taken.IntersectWith(sent.Where(n => !n.StartsWith("img", StringComparison.Ordinal)));
        taken.ExceptWith(acknowledged);
        return taken.Count;
    }

    /// <summary>The appliance has no event to await from outside: its record is read every 20 ms until it holds more results.</summary>
    private static async Task WaitForProgressAsync(string database, long before, ChildProcess appliance, CancellationToken cancellationToken)
    {
        while (Records.CountAppliance(database).Results <= before)
        {
            if (appliance.HasExited)
            {
                throw new InvalidOperationException("edge-appliance stopped on its own: " + appliance.Stderr);
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Until every image taken in has its result, the spool and inbox are empty and the outbox is sent, and at least
    /// <paramref name="expected"/> results exist; returns the number of results.
    /// </summary>
    private static async Task<long> WaitForSettledAsync(string database, string spool, string inbox, int expected, ChildProcess appliance, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (results, registered, unsent) = Records.CountAppliance(database);
            if (results >= expected && results == registered && unsent == 0 && Directory.GetFiles(spool).Length == 0 && Directory.GetFiles(inbox).Length == 0)
            {
                return results;
            }

            if (appliance.HasExited)
            {
                throw new InvalidOperationException("edge-appliance stopped on its own: " + appliance.Stderr);
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The X-ray console: sends its files a study at a time over storescu, and resends what was not acknowledged once the
    /// appliance answers again (a console shows "send failed" and the technician presses resend).
    /// </summary>
    private sealed class XrayConsole(int port, int perAssociation)
    {
        private readonly Dictionary<string, int> _acknowledged = new(StringComparer.Ordinal);
        private readonly HashSet<string> _attempted = new(StringComparer.Ordinal);
        private TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _associations;
        private int _failed;
        private int _open;
        private int _resent;

        public int OpenAssociations => Volatile.Read(ref _open);

        public int Associations => Volatile.Read(ref _associations);

        public int FailedAssociations => Volatile.Read(ref _failed);

        public int Resent => Volatile.Read(ref _resent);

        public int AcknowledgedCount
        {
            get
            {
                lock (_acknowledged)
                {
                    return _acknowledged.Count;
                }
            }
        }

        public Dictionary<string, int> Acknowledged
        {
            get
            {
                lock (_acknowledged)
                {
                    return new Dictionary<string, int>(_acknowledged, StringComparer.Ordinal);
                }
            }
        }

        /// <summary>The appliance answers C-ECHO: senders waiting to resend go.</summary>
        public void Up() => Volatile.Read(ref _up).TrySetResult();

        /// <summary>Called just before a kill, so a sender that fails from here on waits for the next <see cref="Up"/>.</summary>
        public void Down()
        {
            if (Volatile.Read(ref _up).Task.IsCompleted)
            {
                Volatile.Write(ref _up, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
        }

        public async Task SendAllAsync(IReadOnlyList<string> files, string proposal, CancellationToken cancellationToken)
        {
            var pending = new List<string>(files);
            var failedInARow = 0;
            while (pending.Count > 0)
            {
                await Volatile.Read(ref _up).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                var batch = pending.Take(perAssociation).ToList();
                foreach (var file in batch)
                {
                    lock (_attempted)
                    {
                        if (!_attempted.Add(file))
                        {
                            Interlocked.Increment(ref _resent);
                        }
                    }
                }

                Interlocked.Increment(ref _associations);
                Interlocked.Increment(ref _open);
                StorescuOutcome outcome;
                try
                {
                    outcome = await StorescuSession.TrySendAsync("EDGE", port, [proposal], batch, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _open);
                }

                lock (_acknowledged)
                {
                    foreach (var (file, _) in outcome.Acknowledged)
                    {
                        var name = Path.GetFileName(file);
                        _acknowledged[name] = _acknowledged.GetValueOrDefault(name) + 1;
                        pending.Remove(file);
                    }
                }

                if (outcome.Completed(batch.Count))
                {
                    failedInARow = 0;
                    continue;
                }

                Interlocked.Increment(ref _failed);
                if (++failedInARow > 20)
                {
                    throw new InvalidOperationException("storescu failed 20 times in a row:\n" + outcome.Log);
                }
            }
        }
    }
}
