using System.Globalization;
using Edge.TestSupport;

namespace Edge.Sync.Tests;

/// <summary>
/// The PHI corpus: distinctive values planted in every attribute of the DICOM Basic Application Level Confidentiality
/// Profile (PS3.15 Table E.1-1) that a CR/DX image can carry, and the recognisable parts of each value that would still
/// identify the patient if they turned up anywhere on their own.
/// </summary>
public static class PhiCorpus
{
    /// <summary>
    /// The shared files the corpus is planted into, the storescu proposal each is sent with, and what else is changed so
    /// that every path an image can take is walked with PHI in it: screened, rejected by the quality checks (a hand, not
    /// a chest), refused as unreadable (no pixel data), whose reasons are logged and recorded, and a file dropped in the
    /// watched folder under a name made of its patient's name and birth date, as consoles and USB exports often name them.
    /// </summary>
    public static PhiSource[] Sources =>
    [
        new(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi", [], "screened", Readable: true),
        new(Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm"), "-xw", [], "screened", Readable: true),
        new(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi", ["-i", "(0018,0015)=HAND"], "rejected", Readable: true),
        new(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), "-xi", ["-e", "(7FE0,0010)"], "rejected", Readable: false),
        new(Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm"), null, [], "screened", Readable: true),
    ];

    /// <summary>
    /// Kept by design, so not planted: Patient's Age and Sex (leave only as a DHIS2 age band and M/F/O), and Acquisition
    /// Date and Time (the screening's <c>acquiredAt</c>: the profile's Retain Longitudinal Temporal Information option).
    /// Every other date is planted and must not leave.
    /// </summary>
    public static readonly (string Tag, string Keyword, string Kind)[] ProfileAttributes =
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

    /// <summary>A file name as a console's export might write it: the patient's name and birth date, as planted.</summary>
    public static string PatientFileName(IEnumerable<Planted> values) =>
        $"{values.Single(v => v.Keyword == "PatientName").Value} {values.Single(v => v.Keyword == "PatientBirthDate").Value}.dcm";

    /// <summary>Copies a shared file and plants a distinctive value in every profile attribute with dcmodify.</summary>
    public static async Task<(string Path, List<Planted> Values)> PlantAsync(TempDirectory temp, PhiSource source, int file)
    {
        var path = temp.Combine($"phi-{file}.dcm");
        File.Copy(source.Path, path);
        var values = ProfileAttributes.Select((a, n) => Plant(a.Keyword, a.Kind, file, n)).ToList();
        var arguments = new List<string> { "-nb", "-ie" };
        foreach (var (attribute, value) in ProfileAttributes.Zip(values))
        {
            arguments.AddRange(["-i", $"{attribute.Tag}={value.Value}"]);
        }

        // The retained acquisition date and time, present in every file so that acquiredAt never falls back to another
        // (planted) date: without an acquisition date the appliance takes the content date, then the study date.
        arguments.AddRange(["-i", "(0008,0022)=20261201", "-i", "(0008,0032)=093000", .. source.Alterations]);
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
    public static Planted Plant(string keyword, string kind, int file, int n)
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
                var date = keyword == "PatientBirthDate" ? new DateOnly(1941 + file, 2, 19) : new DateOnly(1971 + (n % 40), 1 + (((file * 5) + (n % 6)) % 12), 3 + (n % 20));
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
}

/// <summary>
/// A shared file to plant the corpus into, how storescu proposes it (null: dropped in the watched folder instead), dcmodify
/// arguments that alter it further, the status its result must have, and whether the appliance can read the file at all
/// (only then does it know the patient).
/// </summary>
public sealed record PhiSource(string Path, string? Proposal, IReadOnlyList<string> Alterations, string Status, bool Readable);

/// <summary>One planted value, and the tokens a scan looks for: the value and its recognisable parts.</summary>
public sealed record Planted(string Keyword, string Kind, int File, string Value, IReadOnlyList<string> Tokens);
