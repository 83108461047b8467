namespace Edge.Domain;

/// <summary>The container an image arrived in.</summary>
public enum ImageFormat
{
    Dicom,
    Png,
    Jpeg,
}

/// <summary>
/// Grayscale pixels, row-major from the top-left, in the source's own units:
/// modality values for DICOM (after the Modality LUT), luma 0..255 (or 0..65535) for PNG/JPEG.
/// Whether low values display as white is carried by <see cref="ImageHeader.DisplaysInverted"/>.
/// </summary>
public sealed class GrayImage
{
    public GrayImage(int width, int height, float[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != checked(width * height))
        {
            throw new ArgumentException($"Expected {width * height} pixels, got {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public float[] Pixels { get; }
}

/// <summary>
/// What the header says about an image: enough for quality checks, display and traceability.
/// Holds no patient identity; that lives in <see cref="PatientIdentity"/>.
/// </summary>
public sealed record ImageHeader
{
    public required ImageFormat Format { get; init; }

    /// <summary>MONOCHROME1, MONOCHROME2, RGB (PNG/JPEG colour), ...</summary>
    public string Photometric { get; init; } = "MONOCHROME2";

    /// <summary>Presentation LUT Shape (2050,0020): IDENTITY, INVERSE, or null when absent (or any other value).</summary>
    public string? PresentationLutShape { get; init; }

    /// <summary>
    /// True when low pixel values display as white. Presentation LUT Shape, when present, decides on its own: it already
    /// accounts for the photometric interpretation (PS3.3 C.8.11.3: INVERSE goes with MONOCHROME1, IDENTITY with
    /// MONOCHROME2), so MONOCHROME1 with INVERSE is one inversion, not two; DCMTK renders it the same way.
    /// Without it, MONOCHROME1 inverts.
    /// </summary>
    public bool DisplaysInverted => PresentationLutShape switch
    {
        "INVERSE" => true,
        "IDENTITY" => false,
        _ => string.Equals(Photometric, "MONOCHROME1", StringComparison.OrdinalIgnoreCase),
    };

    public int BitsStored { get; init; } = 8;

    public string? TransferSyntaxUid { get; init; }

    public string? SopClassUid { get; init; }

    public string? StudyInstanceUid { get; init; }

    public string? SeriesInstanceUid { get; init; }

    public string? SopInstanceUid { get; init; }

    public string? Modality { get; init; }

    public string? BodyPartExamined { get; init; }

    /// <summary>View Position (0018,5101): PA, AP, LL, ...</summary>
    public string? ViewPosition { get; init; }

    /// <summary>Image Type (0008,0008) values, e.g. ORIGINAL\PRIMARY.</summary>
    public IReadOnlyList<string> ImageType { get; init; } = [];

    /// <summary>Patient Orientation (0020,0020), e.g. ["L", "F"]: row and column directions.</summary>
    public IReadOnlyList<string> PatientOrientation { get; init; } = [];

    /// <summary>
    /// Study Description, Series Description and Protocol Name: free text, used only to look for body-part words in the
    /// quality checks. Never logged or synced.
    /// </summary>
    public IReadOnlyList<string> Descriptions { get; init; } = [];

    /// <summary>Age in whole years from Patient's Age (0010,1010), or from birth and study dates; null when unknown.</summary>
    public int? AgeYears { get; init; }

    /// <summary>M, F, O or null.</summary>
    public string? Sex { get; init; }

    /// <summary>First window of (0028,1050)/(0028,1051), for display only.</summary>
    public double? WindowCenter { get; init; }

    public double? WindowWidth { get; init; }

    /// <summary>First item of the VOI LUT Sequence (0028,3010), for display only; used in preference to the window.</summary>
    public LookupTable? VoiLut { get; init; }

    /// <summary>Pixel Spacing or Imager Pixel Spacing in mm (row spacing, column spacing).</summary>
    public (double Row, double Column)? PixelSpacingMm { get; init; }

    public DateTimeOffset? AcquiredAt { get; init; }

    public string? Manufacturer { get; init; }

    public string? ManufacturerModelName { get; init; }
}

/// <summary>
/// A DICOM LUT (PS3.3 C.11.1.1): input values below <see cref="FirstMapped"/> take the first entry, values past the end
/// the last. <see cref="BitsPerEntry"/> gives the output range 0 .. 2^bits - 1.
/// </summary>
public sealed class LookupTable
{
    private readonly float[] _entries;

    public LookupTable(int firstMapped, int bitsPerEntry, float[] entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfZero(entries.Length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bitsPerEntry);
        FirstMapped = firstMapped;
        BitsPerEntry = bitsPerEntry;
        _entries = entries;
    }

    public int FirstMapped { get; }

    public int BitsPerEntry { get; }

    public ReadOnlySpan<float> Entries => _entries;

    /// <summary>The largest output value the table may hold.</summary>
    public double MaxOutput => Math.Pow(2, BitsPerEntry) - 1;

    public float Map(float value)
    {
        var index = Math.Clamp((long)MathF.Round(value, MidpointRounding.AwayFromZero) - FirstMapped, 0, _entries.Length - 1);
        return _entries[index];
    }
}

/// <summary>
/// Patient identity read from the image. PHI: stored only in the local record, shown only on the
/// local page and slip, never logged and never synced (only an HMAC pseudonym leaves the device).
/// </summary>
public sealed record PatientIdentity
{
    public string? PatientId { get; init; }

    public string? PatientName { get; init; }

    public string? AccessionNumber { get; init; }

    public string? BirthDate { get; init; }

    public static PatientIdentity None { get; } = new();
}

/// <summary>An image as intake hands it to the pipeline.</summary>
public sealed record DecodedImage(GrayImage Pixels, ImageHeader Header, PatientIdentity Identity);

/// <summary>The intake boundary's single failure type: the file cannot be read as an image. The message is safe to show a technician and holds no PHI.</summary>
public sealed class ImageReadException : Exception
{
    public ImageReadException(string message)
        : base(message)
    {
    }

    public ImageReadException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Reads an image file of any supported kind (DICOM, PNG, JPEG).</summary>
public interface IImageFileReader
{
    /// <exception cref="ImageReadException">The file is not a readable image.</exception>
    ValueTask<DecodedImage> ReadAsync(string path, CancellationToken cancellationToken);
}
