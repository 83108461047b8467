using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Edge.Dicom;

/// <summary>
/// Typed reads of data elements from a GDCM data set. Text is decoded from the raw bytes with the
/// file's Specific Character Set, so odd bytes in a name or manufacturer never throw.
/// </summary>
internal sealed class DicomAttributes
{
    private readonly gdcm.DataSet dataSet;
    private readonly Encoding encoding;

    public DicomAttributes(gdcm.DataSet dataSet)
    {
        this.dataSet = dataSet;

        // Specific Character Set is itself plain ASCII, so it can be read before the real encoding is known.
        encoding = Encoding.Latin1;
        encoding = DicomText.EncodingFor(Strings(0x0008, 0x0005));
    }

    public byte[]? Bytes(ushort group, ushort element) => ReadBytes(dataSet, group, element);

    /// <summary>First value of a text element, trimmed; null when absent or empty.</summary>
    public string? String(ushort group, ushort element)
    {
        var values = Strings(group, element);
        return values.Count > 0 && values[0].Length > 0 ? values[0] : null;
    }

    /// <summary>The whole value of a text element (backslashes kept), trimmed; null when absent or empty.</summary>
    public string? RawString(ushort group, ushort element)
    {
        var bytes = Bytes(group, element);
        var text = bytes is null ? null : DicomText.Trim(encoding.GetString(bytes));
        return string.IsNullOrEmpty(text) ? null : text;
    }

    public IReadOnlyList<string> Strings(ushort group, ushort element)
    {
        var text = RawString(group, element);
        if (text is null)
        {
            return [];
        }

        var values = text.Split('\\').Select(DicomText.Trim).ToList();
        while (values.Count > 0 && values[^1].Length == 0)
        {
            values.RemoveAt(values.Count - 1);
        }

        return values;
    }

    /// <summary>Value <paramref name="index"/> of a Decimal String, or null when absent or unparsable.</summary>
    public double? Decimal(ushort group, ushort element, int index = 0)
    {
        var values = Strings(group, element);
        return index < values.Count && double.TryParse(values[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : null;
    }

    internal static byte[]? ReadBytes(gdcm.DataSet dataSet, ushort group, ushort element)
    {
        var tag = new gdcm.Tag(group, element);
        if (!dataSet.FindDataElement(tag))
        {
            return null;
        }

        var dataElement = dataSet.GetDataElement(tag);
        if (dataElement.IsEmpty())
        {
            return null;
        }

        var value = dataElement.GetByteValue();
        if (value is null)
        {
            return null;
        }

        var length = value.GetLength().GetValueLength();
        var bytes = new byte[length];
        return value.GetBuffer(bytes, length) ? bytes : null;
    }

    internal static ushort? ReadUInt16(gdcm.DataSet dataSet, ushort group, ushort element, int index = 0)
    {
        var bytes = ReadBytes(dataSet, group, element);
        return bytes is not null && bytes.Length >= (index + 1) * 2 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(index * 2)) : null;
    }
}

/// <summary>DICOM value-representation parsing that needs no GDCM: character sets, ages, dates and times.</summary>
internal static class DicomText
{
    public static string Trim(string text) => text.Trim(' ', '\0');

    /// <summary>
    /// Encoding for Specific Character Set (0008,0005). Unknown or absent sets decode as Latin-1, which
    /// maps every byte to a character, so a file that lies about its set still reads without error.
    /// </summary>
    public static Encoding EncodingFor(IReadOnlyList<string> specificCharacterSet)
    {
        // With ISO 2022 code extensions the first value is the default repertoire; the last names the extension in use.
        var term = specificCharacterSet.Count == 0 ? string.Empty : specificCharacterSet[^1].Replace("ISO 2022 ", "ISO_", StringComparison.Ordinal);
        var name = term switch
        {
            "ISO_IR 192" => "utf-8",
            "ISO_IR 101" => "iso-8859-2",
            "ISO_IR 109" => "iso-8859-3",
            "ISO_IR 110" => "iso-8859-4",
            "ISO_IR 144" => "iso-8859-5",
            "ISO_IR 127" => "iso-8859-6",
            "ISO_IR 126" => "iso-8859-7",
            "ISO_IR 138" => "iso-8859-8",
            "ISO_IR 148" => "iso-8859-9",
            "ISO_IR 13" => "shift_jis",
            "ISO_IR 166" => "windows-874",
            "GB18030" => "gb18030",
            "GBK" => "gbk",
            _ => null,
        };
        if (name == "utf-8")
        {
            return Encoding.UTF8;
        }

        return (name is null ? null : CodePagesEncodingProvider.Instance.GetEncoding(name)) ?? Encoding.Latin1;
    }

    /// <summary>Age String "045Y", "006M", "010W", "003D" as whole years.</summary>
    public static int? AgeYears(string? ageString)
    {
        if (ageString is not { Length: 4 } || !int.TryParse(ageString.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return null;
        }

        return char.ToUpperInvariant(ageString[3]) switch
        {
            'Y' => count,
            'M' => count / 12,
            'W' => count / 52,
            'D' => count / 365,
            _ => null,
        };
    }

    public static int? AgeYears(DateOnly birth, DateOnly on)
    {
        if (on < birth)
        {
            return null;
        }

        var years = on.Year - birth.Year;
        return on < birth.AddYears(years) ? years - 1 : years;
    }

    /// <summary>DA "YYYYMMDD", or the ACR-NEMA "YYYY.MM.DD" that old files carry.</summary>
    public static DateOnly? Date(string? value) =>
        value is not null && DateOnly.TryParseExact(value.Replace(".", string.Empty, StringComparison.Ordinal), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : null;

    /// <summary>TM "HH", "HHMM", "HHMMSS", "HHMMSS.FFFFFF", or the ACR-NEMA "HH:MM:SS".</summary>
    public static TimeOnly? Time(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var text = value.Replace(":", string.Empty, StringComparison.Ordinal);
        var fraction = 0.0;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            if (!double.TryParse("0" + text[dot..], NumberStyles.Float, CultureInfo.InvariantCulture, out fraction))
            {
                return null;
            }

            text = text[..dot];
        }

        if (text.Length is not (2 or 4 or 6) || !text.All(char.IsAsciiDigit))
        {
            return null;
        }

        var hour = int.Parse(text.AsSpan(0, 2), CultureInfo.InvariantCulture);
        var minute = text.Length >= 4 ? int.Parse(text.AsSpan(2, 2), CultureInfo.InvariantCulture) : 0;
        var second = text.Length == 6 ? int.Parse(text.AsSpan(4, 2), CultureInfo.InvariantCulture) : 0;

        // DICOM allows second 60 for leap seconds; clamp rather than reject the whole timestamp.
        if (hour > 23 || minute > 59 || second > 60)
        {
            return null;
        }

        return new TimeOnly(hour, minute, Math.Min(second, 59)).Add(TimeSpan.FromTicks((long)(fraction * TimeSpan.TicksPerSecond)));
    }

    /// <summary>Timezone Offset From UTC (0008,0201) "+hhmm" / "-hhmm".</summary>
    public static TimeSpan? UtcOffset(string? value)
    {
        if (value is not { Length: 5 } || value[0] is not ('+' or '-')
            || !int.TryParse(value.AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(value.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || hours > 14 || minutes > 59)
        {
            return null;
        }

        var offset = new TimeSpan(hours, minutes, 0);
        return value[0] == '-' ? -offset : offset;
    }
}
