using System.Globalization;

namespace Edge.Dicom.Results;

/// <summary>The modules both result objects share: Patient and General Study copied from the source, equipment and SOP Common ours.</summary>
internal static class CommonModules
{
    /// <summary>Patient (C.7.1.1) and General Study (C.7.2.1): the join to the source study.</summary>
    public static DicomDataSet AddPatientAndStudy(this DicomDataSet ds, SourceStudy source)
    {
        ds.Text(DicomTags.PatientName, "PN", source.PatientName)
            .Text(DicomTags.PatientId, "LO", source.PatientId)
            .Text(DicomTags.PatientBirthDate, "DA", source.PatientBirthDate)
            .Text(DicomTags.PatientSex, "CS", source.PatientSex)
            .Text(DicomTags.StudyInstanceUid, "UI", source.StudyInstanceUid)
            .Text(DicomTags.StudyDate, "DA", source.StudyDate)
            .Text(DicomTags.StudyTime, "TM", source.StudyTime)
            .Text(DicomTags.ReferringPhysicianName, "PN", source.ReferringPhysicianName)
            .Text(DicomTags.StudyId, "SH", source.StudyId)
            .Text(DicomTags.AccessionNumber, "SH", source.AccessionNumber);
        if (source.StudyDescription is { } description)
        {
            ds.Text(DicomTags.StudyDescription, "LO", description);
        }

        return ds;
    }

    /// <summary>Series (SR Document Series C.17.1 or General Series C.7.3.1): ours, one per study and kind.</summary>
    public static DicomDataSet AddSeries(this DicomDataSet ds, string modality, string seriesUid, string description, ObjectTime time)
    {
        return ds.Text(DicomTags.Modality, "CS", modality)
            .Text(DicomTags.SeriesInstanceUid, "UI", seriesUid)
            .Text(DicomTags.SeriesNumber, "IS", modality == "SR" ? "9901" : "9902")
            .Text(DicomTags.SeriesDate, "DA", time.Date)
            .Text(DicomTags.SeriesTime, "TM", time.Time)
            .Text(DicomTags.SeriesDescription, "LO", description);
    }

    /// <summary>General Equipment (C.7.5.1).</summary>
    public static DicomDataSet AddEquipment(this DicomDataSet ds, DicomResultOptions options)
    {
        return ds.Text(DicomTags.Manufacturer, "LO", options.Manufacturer)
            .Text(DicomTags.ManufacturerModelName, "LO", "TB triage appliance")
            .Text(DicomTags.DeviceSerialNumber, "LO", options.DeviceId)
            .Text(DicomTags.SoftwareVersions, "LO", options.SoftwareVersion);
    }

    /// <summary>SOP Common (C.12.1); Specific Character Set is added by the writer once it knows whether any text needs it.</summary>
    public static DicomDataSet AddSopCommon(this DicomDataSet ds, string sopClassUid, string sopInstanceUid, ObjectTime time)
    {
        return ds.Text(DicomTags.SopClassUid, "UI", sopClassUid)
            .Text(DicomTags.SopInstanceUid, "UI", sopInstanceUid)
            .Text(DicomTags.InstanceCreationDate, "DA", time.Date)
            .Text(DicomTags.InstanceCreationTime, "TM", time.Time)
            .Text(DicomTags.TimezoneOffsetFromUtc, "SH", time.Offset);
    }

    public static string InstanceNumber(SourceStudy source) => (source.InstanceNumber ?? 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>A reference to the source image (SOP Instance Reference Macro, Table 10-11).</summary>
    public static DicomDataSet SourceReference(SourceStudy source) => new DicomDataSet()
        .Text(DicomTags.ReferencedSopClassUid, "UI", source.SopClassUid)
        .Text(DicomTags.ReferencedSopInstanceUid, "UI", source.SopInstanceUid);
}

/// <summary>When the result was made, as DICOM DA, TM and Timezone Offset From UTC in the site's zone.</summary>
internal sealed record ObjectTime(string Date, string Time, string Offset)
{
    public static ObjectTime From(DateTimeOffset at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        var offset = local.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return new ObjectTime(
            local.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
            local.ToString("HHmmss", CultureInfo.InvariantCulture),
            string.Create(CultureInfo.InvariantCulture, $"{sign}{offset.Hours:00}{offset.Minutes:00}"));
    }
}
