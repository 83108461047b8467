using System.Globalization;
using System.Text.RegularExpressions;

namespace Edge.Dicom.Results;

/// <summary>
/// What a result object copies from the screened image: the Patient and General Study modules and the references to
/// the image. Text is decoded with the source's character set and re-encoded with ours. A value that breaks its own
/// VR in the source (a 56-character hash as a date, an accession longer than SH allows) is written empty rather than
/// copied: a copied invalid value would make our object fail validation, and truncating it would make a different identifier.
/// </summary>
internal sealed partial record SourceStudy
{
    public required string StudyInstanceUid { get; init; }

    public required string SeriesInstanceUid { get; init; }

    public required string SopClassUid { get; init; }

    public required string SopInstanceUid { get; init; }

    public string? PatientName { get; init; }

    public string? PatientId { get; init; }

    public string? PatientBirthDate { get; init; }

    public string? PatientSex { get; init; }

    public string? StudyDate { get; init; }

    public string? StudyTime { get; init; }

    public string? AccessionNumber { get; init; }

    public string? ReferringPhysicianName { get; init; }

    public string? StudyId { get; init; }

    public string? StudyDescription { get; init; }

    /// <summary>Instance Number of the source, reused so results sort like their images; null when absent.</summary>
    public int? InstanceNumber { get; init; }

    /// <summary>Patient Orientation (row\column direction) when valid; the SC keeps the source's orientation.</summary>
    public IReadOnlyList<string> PatientOrientation { get; init; } = [];

    /// <exception cref="DicomResultException">The file is not DICOM, or lacks the UIDs a result must reference.</exception>
    public static SourceStudy Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GdcmNativeLibrary.Prepare();
        gdcm.DataSet dataSet;
        using var reader = new gdcm.Reader();
        try
        {
            reader.SetFileName(path);

            // Only the header is referenced: stopping at Pixel Data spares reading (and holding) the whole image again.
            if (!reader.ReadUpToTag(new gdcm.Tag(0x7FE0, 0x0010)))
            {
                throw new DicomResultException("The source image cannot be read as DICOM, so no result objects can be joined to it.");
            }

            dataSet = reader.GetFile().GetDataSet();
            return From(new DicomAttributes(dataSet));
        }
        catch (DicomResultException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new DicomResultException("The source image's header cannot be read with GDCM.", ex);
        }
    }

    internal static SourceStudy From(DicomAttributes a)
    {
        string Uid(ushort group, ushort element, string name) =>
            a.String(group, element) is { } uid && IsUid(uid) ? uid : throw new DicomResultException($"The source image has no valid {name}: result objects cannot reference it.");

        return new SourceStudy
        {
            StudyInstanceUid = Uid(0x0020, 0x000D, "Study Instance UID"),
            SeriesInstanceUid = Uid(0x0020, 0x000E, "Series Instance UID"),
            SopClassUid = Uid(0x0008, 0x0016, "SOP Class UID"),
            SopInstanceUid = Uid(0x0008, 0x0018, "SOP Instance UID"),
            PatientName = PersonName(a.RawString(0x0010, 0x0010)),
            PatientId = Limited(a.RawString(0x0010, 0x0020), 64),
            PatientBirthDate = Date(a.String(0x0010, 0x0030)),
            PatientSex = a.String(0x0010, 0x0040) is "M" or "F" or "O" ? a.String(0x0010, 0x0040) : null,
            StudyDate = Date(a.String(0x0008, 0x0020)),
            StudyTime = Time(a.String(0x0008, 0x0030)),
            AccessionNumber = Limited(a.RawString(0x0008, 0x0050), 16),
            ReferringPhysicianName = PersonName(a.RawString(0x0008, 0x0090)),
            StudyId = Limited(a.RawString(0x0020, 0x0010), 16),
            StudyDescription = Limited(a.RawString(0x0008, 0x1030), 64),
            InstanceNumber = int.TryParse(a.String(0x0020, 0x0013), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= 0 and < 100_000_000 ? n : null,
            PatientOrientation = Orientation(a.Strings(0x0020, 0x0020)),
        };
    }

    /// <summary>PS3.5 9.1: digits and dots, components without leading zeros, at most 64 characters.</summary>
    internal static bool IsUid(string value) => value.Length <= 64 && UidPattern().IsMatch(value);

    /// <summary>Single-valued text of VRs LO / SH: no backslash or control characters, within the VR's length.</summary>
    private static string? Limited(string? value, int maxLength) =>
        value is not null && value.Length <= maxLength && !value.Any(c => c == '\\' || char.IsControl(c)) ? value : null;

    /// <summary>PN: up to three component groups (alphabetic, ideographic, phonetic) of at most 64 characters each.</summary>
    private static string? PersonName(string? value)
    {
        if (value is null || value.Contains('\\', StringComparison.Ordinal) || value.Any(char.IsControl))
        {
            return null;
        }

        var groups = value.Split('=');
        return groups.Length <= 3 && groups.All(g => g.Length <= 64 && g.Split('^').Length <= 5) ? value : null;
    }

    private static string? Date(string? value) =>
        value is not null && DateOnly.TryParseExact(value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? value : null;

    private static string? Time(string? value) =>
        value is not null && value.Length <= 16 && TimePattern().IsMatch(value) ? value : null;

    private static IReadOnlyList<string> Orientation(IReadOnlyList<string> values) =>
        values.Count == 2 && values.All(v => v.Length is > 0 and <= 16 && v.All(c => c is 'A' or 'P' or 'R' or 'L' or 'H' or 'F')) ? values : [];

    [GeneratedRegex(@"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$", RegexOptions.CultureInvariant)]
    private static partial Regex UidPattern();

    [GeneratedRegex(@"^([01][0-9]|2[0-3])([0-5][0-9]([0-5][0-9](\.[0-9]{1,6})?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TimePattern();
}
