using Edge.Domain;

namespace Edge.Dicom;

/// <summary>Maps DICOM attributes onto <see cref="ImageHeader"/> and <see cref="PatientIdentity"/>.</summary>
internal static class DicomHeaderParser
{
    public static ImageHeader Parse(DicomAttributes a, int bitsStored, string? transferSyntaxUid) => new()
    {
        Format = ImageFormat.Dicom,
        Photometric = a.String(0x0028, 0x0004) ?? "MONOCHROME2",
        PresentationLutShape = a.String(0x2050, 0x0020)?.ToUpperInvariant() switch
        {
            "IDENTITY" => "IDENTITY",
            "INVERSE" => "INVERSE",
            _ => null, // absent, or LIN OD (printing only): the photometric interpretation decides
        },
        BitsStored = bitsStored,
        TransferSyntaxUid = transferSyntaxUid,
        SopClassUid = a.String(0x0008, 0x0016),
        StudyInstanceUid = a.String(0x0020, 0x000D),
        SeriesInstanceUid = a.String(0x0020, 0x000E),
        SopInstanceUid = a.String(0x0008, 0x0018),
        Modality = a.String(0x0008, 0x0060),
        BodyPartExamined = a.String(0x0018, 0x0015),
        ViewPosition = a.String(0x0018, 0x5101),
        Descriptions = [.. new[] { a.String(0x0008, 0x1030), a.String(0x0008, 0x103E), a.String(0x0018, 0x1030) }.OfType<string>().Where(d => d.Length > 0)],
        ImageType = a.Strings(0x0008, 0x0008),
        PatientOrientation = a.Strings(0x0020, 0x0020),
        AgeYears = AgeYears(a),
        Sex = a.String(0x0010, 0x0040)?.ToUpperInvariant() is "M" or "F" or "O" ? a.String(0x0010, 0x0040)!.ToUpperInvariant() : null,
        WindowCenter = a.Decimal(0x0028, 0x1050),
        WindowWidth = a.Decimal(0x0028, 0x1051) is > 0 and var width ? width : null,
        PixelSpacingMm = Spacing(a, 0x0028, 0x0030) ?? Spacing(a, 0x0018, 0x1164),
        AcquiredAt = AcquiredAt(a),
        Manufacturer = a.String(0x0008, 0x0070),
        ManufacturerModelName = a.String(0x0008, 0x1090),
    };

    public static PatientIdentity ParseIdentity(DicomAttributes a) => new()
    {
        PatientId = a.RawString(0x0010, 0x0020),
        PatientName = a.RawString(0x0010, 0x0010),
        AccessionNumber = a.RawString(0x0008, 0x0050),
        BirthDate = a.RawString(0x0010, 0x0030),
    };

    private static int? AgeYears(DicomAttributes a)
    {
        if (DicomText.AgeYears(a.String(0x0010, 0x1010)) is { } age)
        {
            return age;
        }

        var birth = DicomText.Date(a.String(0x0010, 0x0030));
        var examined = DicomText.Date(a.String(0x0008, 0x0020)) ?? DicomText.Date(a.String(0x0008, 0x0022)) ?? DicomText.Date(a.String(0x0008, 0x0023));
        return birth is { } b && examined is { } e ? DicomText.AgeYears(b, e) : null;
    }

    /// <summary>Spacing with both values positive; "0\0" (seen in the wild) means unknown.</summary>
    private static (double Row, double Column)? Spacing(DicomAttributes a, ushort group, ushort element) =>
        a.Decimal(group, element, 0) is > 0 and var row && a.Decimal(group, element, 1) is > 0 and var column ? (row, column) : null;

    /// <summary>
    /// Acquisition, else content, else study date and time. DICOM times are the modality's wall clock;
    /// without Timezone Offset From UTC (0008,0201) they are returned with offset zero.
    /// </summary>
    private static DateTimeOffset? AcquiredAt(DicomAttributes a)
    {
        var offset = DicomText.UtcOffset(a.String(0x0008, 0x0201)) ?? TimeSpan.Zero;
        (ushort Date, ushort Time)[] pairs = [(0x0022, 0x0032), (0x0023, 0x0033), (0x0020, 0x0030)];
        foreach (var (dateElement, timeElement) in pairs)
        {
            if (DicomText.Date(a.String(0x0008, dateElement)) is { } date)
            {
                var time = DicomText.Time(a.String(0x0008, timeElement)) ?? TimeOnly.MinValue;
                return new DateTimeOffset(date.ToDateTime(time), offset);
            }
        }

        return null;
    }
}
