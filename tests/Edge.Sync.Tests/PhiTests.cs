using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Edge.Sync.Tests;

/// <summary>
/// De-identification, end to end: DICOM files with distinctive PHI in every attribute of the DICOM Basic Application
/// Level Confidentiality Profile (PS3.15 Table E.1-1) that a CR/DX image can carry are pushed to the running appliance
/// over C-STORE; everything the broker then receives on <c>#</c> (results, replays, statistics, drift, status, command
/// replies) and every log line must be free of every planted value and of its recognisable parts.
/// </summary>
public sealed class PhiTests : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("edge-phi");

    /// <summary>
    /// Kept by design, so not planted: Patient's Age and Sex (leave only as a DHIS2 age band and M/F/O), and Acquisition
    /// Date and Time (the screening's <c>acquiredAt</c>: the profile's Retain Longitudinal Temporal Information option).
    /// Every other date is planted and must not leave.
    /// </summary>
    private static readonly (string Tag, string Keyword, string Kind)[] ProfileAttributes =
    [
        ("(0008,0050)", "AccessionNumber", "SH"),
        ("(0008,0080)", "InstitutionName", "LO"),
        ("(0008,0081)", "InstitutionAddress", "ST"),
        ("(0008,0090)", "ReferringPhysicianName", "PN"),
        ("(0008,0092)", "ReferringPhysicianAddress", "ST"),
        ("(0008,0094)", "ReferringPhysicianTelephoneNumbers", "SH"),
        ("(0008,1010)", "StationName", "SH"),
        ("(0008,1030)", "StudyDescription", "LO"),
        ("(0008,103E)", "SeriesDescription", "LO"),
        ("(0008,1040)", "InstitutionalDepartmentName", "LO"),
        ("(0008,1048)", "PhysiciansOfRecord", "PN"),
        ("(0008,1050)", "PerformingPhysicianName", "PN"),
        ("(0008,1060)", "NameOfPhysiciansReadingStudy", "PN"),
        ("(0008,1070)", "OperatorsName", "PN"),
        ("(0008,1080)", "AdmittingDiagnosesDescription", "LO"),
        ("(0008,2111)", "DerivationDescription", "ST"),
        ("(0010,0010)", "PatientName", "PN"),
        ("(0010,0020)", "PatientID", "LO"),
        ("(0010,0021)", "IssuerOfPatientID", "LO"),
        ("(0010,1000)", "OtherPatientIDs", "LO"),
        ("(0010,1001)", "OtherPatientNames", "PN"),
        ("(0010,1005)", "PatientBirthName", "PN"),
        ("(0010,1040)", "PatientAddress", "LO"),
        ("(0010,1060)", "PatientMotherBirthName", "PN"),
        ("(0010,1090)", "MedicalRecordLocator", "LO"),
        ("(0010,2000)", "MedicalAlerts", "LO"),
        ("(0010,2110)", "Allergies", "LO"),
        ("(0010,2154)", "PatientTelephoneNumbers", "SH"),
        ("(0010,2160)", "EthnicGroup", "SH"),
        ("(0010,2180)", "Occupation", "SH"),
        ("(0010,21B0)", "AdditionalPatientHistory", "LT"),
        ("(0010,4000)", "PatientComments", "LT"),
        ("(0018,1000)", "DeviceSerialNumber", "LO"),
        ("(0018,1004)", "PlateID", "LO"),
        ("(0018,1005)", "GeneratorID", "LO"),
        ("(0018,1007)", "CassetteID", "LO"),
        ("(0018,1008)", "GantryID", "LO"),
        ("(0018,1030)", "ProtocolName", "LO"),
        ("(0018,1400)", "AcquisitionDeviceProcessingDescription", "LO"),
        ("(0018,700A)", "DetectorID", "SH"),
        ("(0018,9424)", "AcquisitionProtocolDescription", "LT"),
        ("(0020,0010)", "StudyID", "SH"),
        ("(0020,4000)", "ImageComments", "LT"),
        ("(0032,1032)", "RequestingPhysician", "PN"),
        ("(0032,1060)", "RequestedProcedureDescription", "LO"),
        ("(0032,4000)", "StudyComments", "LT"),
        ("(0038,0010)", "AdmissionID", "LO"),
        ("(0038,0300)", "CurrentPatientLocation", "LO"),
        ("(0038,0400)", "PatientInstitutionResidence", "LO"),
        ("(0038,0500)", "PatientState", "LO"),
        ("(0040,0241)", "PerformedStationAETitle", "AE"),
        ("(0040,0242)", "PerformedStationName", "SH"),
        ("(0040,0243)", "PerformedLocation", "SH"),
        ("(0040,0253)", "PerformedProcedureStepID", "SH"),
        ("(0040,0254)", "PerformedProcedureStepDescription", "LO"),
        ("(0040,0280)", "CommentsOnThePerformedProcedureStep", "ST"),
        ("(0040,1001)", "RequestedProcedureID", "SH"),
        ("(0040,1400)", "RequestedProcedureComments", "LT"),
        ("(0040,2016)", "PlacerOrderNumberImagingServiceRequest", "LO"),
        ("(0040,2017)", "FillerOrderNumberImagingServiceRequest", "LO"),
        ("(0040,2400)", "ImagingServiceRequestComments", "LT"),
        ("(0040,3001)", "ConfidentialityConstraintOnPatientDataDescription", "LO"),
        ("(0010,1002)[0].(0010,0020)", "OtherPatientIDsSequence.PatientID", "LO"),
        ("(0040,0275)[0].(0040,0009)", "RequestAttributesSequence.ScheduledProcedureStepID", "SH"),
        ("(0008,0018)", "SOPInstanceUID", "UI"),
        ("(0020,000D)", "StudyInstanceUID", "UI"),
        ("(0020,000E)", "SeriesInstanceUID", "UI"),
        ("(0020,0052)", "FrameOfReferenceUID", "UI"),
        ("(0008,0014)", "InstanceCreatorUID", "UI"),
        ("(0018,1002)", "DeviceUID", "UI"),
        ("(0020,0200)", "SynchronizationFrameOfReferenceUID", "UI"),
        ("(0008,1195)", "TransactionUID", "UI"),
        ("(0008,1110)[0].(0008,1155)", "ReferencedStudySequence.ReferencedSOPInstanceUID", "UI"),
        ("(0008,1140)[0].(0008,1155)", "ReferencedImageSequence.ReferencedSOPInstanceUID", "UI"),
        ("(0008,0020)", "StudyDate", "DA"),
        ("(0008,0021)", "SeriesDate", "DA"),
        ("(0008,0023)", "ContentDate", "DA"),
        ("(0010,0030)", "PatientBirthDate", "DA"),
        ("(0040,0244)", "PerformedProcedureStepStartDate", "DA"),
        ("(0018,1200)", "DateOfLastCalibration", "DA"),
        ("(0008,0030)", "StudyTime", "TM"),
        ("(0008,0031)", "SeriesTime", "TM"),
        ("(0008,0033)", "ContentTime", "TM"),
        ("(0010,0032)", "PatientBirthTime", "TM"),
        ("(0040,0245)", "PerformedProcedureStepStartTime", "TM"),
        ("(0018,1201)", "TimeOfLastCalibration", "TM"),
        ("(0008,002A)", "AcquisitionDateTime", "DT"),
        ("(0010,1020)", "PatientSize", "DS"),
        ("(0010,1030)", "PatientWeight", "DS"),
    ];

    private static readonly string[] ResultFields = ["id", "site", "device", "acquiredAt", "screenedAt", "status", "score", "decision", "threshold", "model", "qc", "subject", "historical"];

    [Fact]
    public async Task Run_PhiInEveryProfileAttribute_NoPlantedValueReachesTheBrokerOrTheLog()
    {
        (string Source, string Proposal)[] sources = [(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi"), (Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm"), "-xw")];
        var planted = new List<Planted>();
        var files = new List<(string Path, string Proposal)>();
        for (var i = 0; i < sources.Length; i++)
        {
            var (file, values) = await PlantAsync(sources[i].Source, i);
            files.Add((file, sources[i].Proposal));
            planted.AddRange(values);
        }

        await using var broker = new Mosquitto();
        await broker.StartAsync();
        await using var everything = new Subscriber();
        await everything.ConnectAsync(broker.Port, "#");
        var key = ApplianceHost.WriteKey(_temp);
        await using var host = await ApplianceHost.StartAsync(ApplianceHost.OptionsFor(_temp, broker.Port, key));

        foreach (var (file, proposal) in files)
        {
            var store = await ChildProcess.RunAsync("storescu", ["-aec", "EDGE", "-aet", "CONSOLE", proposal, "127.0.0.1", host.DicomPort.ToString(CultureInfo.InvariantCulture), file], TimeSpan.FromMinutes(1));
            Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);
        }

        await host.WaitForResultsAsync(files.Count);
        await everything.WaitForAsync(r => r.Count(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)) >= files.Count);

        // Every other kind of message the device sends: statistics, drift, a replay, a command reply.
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await using var programme = new Subscriber();
        await programme.ConnectAsync(broker.Port, "tb/v1/+/+/cmd/+/reply");
        foreach (var (name, body) in new[] { ("stats", $$"""{"id":"c-stats","issuedBy":"tb-programme","date":"{{today}}"}"""), ("drift", $$"""{"id":"c-drift","issuedBy":"tb-programme","date":"{{today}}"}"""), ("resend", $$"""{"id":"c-resend","issuedBy":"tb-programme","since":"{{today}}"}"""), ("threshold", """{"id":"c-thr","issuedBy":"tb-programme","threshold":40}""") })
        {
            await programme.PublishAsync($"tb/v1/{ApplianceHost.Site}/{ApplianceHost.Device}/cmd/{name}", body);
        }

        await everything.WaitForAsync(r => r.Count(m => m.Topic.EndsWith("/reply", StringComparison.Ordinal)) >= 4 && r.Any(m => m.Topic.EndsWith("/stats", StringComparison.Ordinal)) && r.Any(m => m.Topic.EndsWith("/drift", StringComparison.Ordinal)) && r.Count(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)) >= 2 * files.Count);
        await host.StopAsync();
        await everything.WaitForAsync(r => r.Any(m => m.Topic.EndsWith("/status", StringComparison.Ordinal) && m.Payload.Contains("\"offline\"", StringComparison.Ordinal)));

        // The appliance did read the PHI (it is in the local record), so the scan below is not vacuous.
        using (var db = new SqliteConnection($"Data Source={host.Options.Storage.Path}/edge.db;Mode=ReadOnly;Pooling=False"))
        {
            db.Open();
            using var command = new SqliteCommand("SELECT group_concat(patient_id || ' ' || patient_name || ' ' || accession, ' ') FROM results", db);
            var local = (string)command.ExecuteScalar()!;
            Assert.Contains(planted.Single(p => p.Keyword == "AccessionNumber" && p.File == 0).Value, local, StringComparison.Ordinal);
        }

        var received = everything.Received;
        Assert.Contains(received, m => m.Topic.EndsWith("/status", StringComparison.Ordinal));
        var tokens = planted.SelectMany(p => p.Tokens.Select(t => (Token: t, p.Keyword, IsUid: p.Kind == "UI"))).ToList();
        var leaks = new List<string>();
        foreach (var message in received)
        {
            leaks.AddRange(tokens.Where(t => Contains(message.Topic + " " + message.Payload, t.Token)).Select(t => $"{t.Keyword} '{t.Token}' on {message.Topic}"));
        }

        // In the log: nothing at any level, except UIDs, which the DICOM service may name at debug level (off in service).
        foreach (var line in host.Logs.Lines)
        {
            leaks.AddRange(tokens.Where(t => (!t.IsUid || line.Level >= LogLevel.Information) && Contains(line.Text, t.Token)).Select(t => $"{t.Keyword} '{t.Token}' in the {line.Level} log: {line.Text}"));
        }

        Assert.True(leaks.Count == 0, "PHI left the device:\n" + string.Join("\n", leaks.Distinct()));

        // Results carry exactly the programme's fields, and the patient only as the keyed pseudonym.
        var results = received.Where(m => m.Topic.EndsWith("/result", StringComparison.Ordinal)).Select(m => JsonDocument.Parse(m.Payload).RootElement).ToList();
        Assert.All(results, r => Assert.Equal(ResultFields, r.EnumerateObject().Select(p => p.Name)));
        Assert.All(results, r => Assert.Equal(["pseudoId", "ageBand", "sex"], r.GetProperty("subject").EnumerateObject().Select(p => p.Name)));
        var pseudonyms = results.Select(r => r.GetProperty("subject").GetProperty("pseudoId").GetString()).ToHashSet();
        var keyBytes = await File.ReadAllBytesAsync(key);
        foreach (var id in planted.Where(p => p.Keyword == "PatientID").Select(p => p.Value))
        {
            Assert.Contains(Convert.ToHexStringLower(HMACSHA256.HashData(keyBytes, Encoding.UTF8.GetBytes(id))), pseudonyms);
        }

        Assert.Equal(files.Count, results.Count(r => r.GetProperty("historical").GetBoolean()));
    }

    public ValueTask DisposeAsync()
    {
        _temp.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Case-insensitive: a value upper-cased on the way (DICOM CS, a name) is still a leak.</summary>
    private static bool Contains(string text, string token) => text.Contains(token, StringComparison.OrdinalIgnoreCase);

    /// <summary>Copies a shared file and plants a distinctive value in every profile attribute with dcmodify.</summary>
    private async Task<(string Path, List<Planted> Values)> PlantAsync(string source, int file)
    {
        var path = _temp.Combine($"phi-{file}.dcm");
        File.Copy(source, path);
        var values = ProfileAttributes.Select((a, n) => Plant(a.Keyword, a.Kind, file, n)).ToList();
        var arguments = new List<string> { "-nb", "-ie" };
        foreach (var (attribute, value) in ProfileAttributes.Zip(values))
        {
            arguments.AddRange(["-i", $"{attribute.Tag}={value.Value}"]);
        }

        // The retained acquisition date and time, present in every file so that acquiredAt never falls back to another
        // (planted) date: without an acquisition date the appliance takes the content date, then the study date.
        arguments.AddRange(["-i", "(0008,0022)=20261201", "-i", "(0008,0032)=093000"]);
        arguments.Add(path);
        var modify = await ChildProcess.RunAsync("dcmodify", arguments, TimeSpan.FromMinutes(1));
        Assert.True(modify.ExitCode == 0, modify.Stdout + modify.Stderr);

        // The planting took: the file now holds the values (read back by an independent tool).
        var dump = await ChildProcess.RunAsync("dcmdump", ["+P", "0008,0050", "+P", "0010,0010", "+P", "0008,0018", path], TimeSpan.FromMinutes(1));
        Assert.Contains(values.Single(v => v.Keyword == "AccessionNumber").Value, dump.Stdout, StringComparison.Ordinal);
        Assert.Contains(values.Single(v => v.Keyword == "SOPInstanceUID").Value, dump.Stdout, StringComparison.Ordinal);
        return (path, values);
    }

    /// <summary>
    /// A value that cannot occur by chance, and the fragments of it that would still identify: each name component, each
    /// word, a date in every spelling, a UID whole and by its distinctive tail.
    /// </summary>
    private static Planted Plant(string keyword, string kind, int file, int n)
    {
        var tag = $"{file}{n:00}";
        var digits = $"{file + 1}{n + 11:00}";
        switch (kind)
        {
            case "PN":
                return new(keyword, kind, file, $"Zwane{tag}^Thandeka{tag}^Nomsa{tag}", [$"Zwane{tag}", $"Thandeka{tag}", $"Nomsa{tag}"]);
            case "UI":
                var uid = $"2.25.{file + 1}7730{n + 10:00}994021{n + 10:00}{file + 5}";
                return new(keyword, kind, file, uid, [uid, uid[^12..]]);
            case "DA":
                // Born well before the study, so the image is an adult's and is screened, not rejected for age.
                var date = keyword == "PatientBirthDate" ? new DateOnly(1941 + file, 2, 19) : new DateOnly(1971 + (n % 40), 1 + (file * 5) + (n % 6), 3 + (n % 20));
                return new(keyword, kind, file, date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), [date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), date.ToString("yyyy.MM.dd", CultureInfo.InvariantCulture)]);
            case "TM":
                var time = $"{13 + file}{n % 6}{n % 10}{n % 6}7.{digits}13";
                return new(keyword, kind, file, time, [time, $"{time[..2]}:{time[2..4]}:{time[4..6]}.{digits}"]);
            case "DT":
                var stamp = $"19{74 + file}0{3 + file}1{n % 10}08{n % 6}5{n % 6}7.{digits}";
                return new(keyword, kind, file, stamp, [stamp, $"19{74 + file}-0{3 + file}-1{n % 10}"]);
            case "DS":
                var number = $"8{file}{n}.7{digits}3";
                return new(keyword, kind, file, number, [number]);
            case "AE":
                return new(keyword, kind, file, $"AEQX{tag}", [$"AEQX{tag}"]);
            default:
                var words = new[] { $"Qx{tag}{keyword[..Math.Min(6, keyword.Length)]}", $"Vk{tag}Ref" };
                return new(keyword, kind, file, kind is "SH" or "AE" ? $"Q{tag}X{n}" : string.Join(' ', words), kind is "SH" ? [$"Q{tag}X{n}"] : words);
        }
    }

    private sealed record Planted(string Keyword, string Kind, int File, string Value, IReadOnlyList<string> Tokens);
}
