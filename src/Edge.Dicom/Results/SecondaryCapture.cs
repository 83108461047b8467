using Edge.Domain;
using Edge.Imaging;

namespace Edge.Dicom.Results;

/// <summary>
/// The Secondary Capture of one screened image: the heatmap overlay as RGB, with the result burned into a black band
/// added under the image, so the text never hides anatomy and the image keeps its orientation.
/// </summary>
internal static class SecondaryCapture
{
    public const string SecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7";

    public static DicomDataSet Build(SourceStudy source, ScreeningReport report, RgbImage overlay, DicomResultOptions options, string sopInstanceUid, string seriesUid)
    {
        var time = ObjectTime.From(report.ScreenedAt, options.TimeZone);
        var image = BurnIn(overlay, ResultText.BurnedInLines(report), report.Decision.Referral == Referral.Refer);
        var pixels = image.Pixels;

        var ds = new DicomDataSet()
            .AddPatientAndStudy(source)
            .AddSeries("OT", seriesUid, ResultText.SeriesDescriptionSc, time)
            .Text(DicomTags.BodyPartExamined, "CS", "CHEST") // Only images screened as chest radiographs get results; it also settles Laterality (2C, paired parts only).
            .AddEquipment(options)
            .AddSopCommon(SecondaryCaptureImageStorage, sopInstanceUid, time);

        // SC Equipment (C.8.6.1): WSD, a workstation made it.
        ds.Text(DicomTags.ConversionType, "CS", "WSD")
            .Text(DicomTags.SecondaryCaptureDeviceManufacturer, "LO", options.Manufacturer)
            .Text(DicomTags.SecondaryCaptureDeviceManufacturerModelName, "LO", "TB triage appliance")
            .Text(DicomTags.SecondaryCaptureDeviceSoftwareVersions, "LO", options.SoftwareVersion);

        // General Image (C.7.6.1) and SC Image (C.8.6.2).
        ds.Text(DicomTags.InstanceNumber, "IS", CommonModules.InstanceNumber(source))
            .Texts(DicomTags.PatientOrientation, "CS", source.PatientOrientation)
            .Text(DicomTags.ContentDate, "DA", time.Date)
            .Text(DicomTags.ContentTime, "TM", time.Time)
            .Texts(DicomTags.ImageType, "CS", ["DERIVED", "SECONDARY"])
            .Text(DicomTags.DerivationDescription, "ST", "TB AI heatmap overlay on the displayed radiograph, with the result burned in below the image")
            .Sequence(DicomTags.SourceImageSequence, CommonModules.SourceReference(source)
                .Sequence(DicomTags.PurposeOfReferenceCodeSequence, ResultCodes.SourceImageForProcessing.ToItem()))
            .Text(DicomTags.BurnedInAnnotation, "CS", "YES")
            .Text(DicomTags.DateOfSecondaryCapture, "DA", time.Date)
            .Text(DicomTags.TimeOfSecondaryCapture, "TM", time.Time);

        // Common Instance Reference (C.12.2): the source image is in the same study.
        ds.Sequence(DicomTags.ReferencedSeriesSequence, new DicomDataSet()
            .Text(DicomTags.SeriesInstanceUid, "UI", source.SeriesInstanceUid)
            .Sequence(DicomTags.ReferencedInstanceSequence, CommonModules.SourceReference(source)));

        // Image Pixel (C.7.6.3): 8-bit RGB, interleaved (planar configuration 0), as RgbImage holds it.
        ds.UInt16(DicomTags.SamplesPerPixel, 3)
            .Text(DicomTags.PhotometricInterpretation, "CS", "RGB")
            .UInt16(DicomTags.PlanarConfiguration, 0)
            .UInt16(DicomTags.Rows, checked((ushort)image.Height))
            .UInt16(DicomTags.Columns, checked((ushort)image.Width))
            .UInt16(DicomTags.BitsAllocated, 8)
            .UInt16(DicomTags.BitsStored, 8)
            .UInt16(DicomTags.HighBit, 7)
            .UInt16(DicomTags.PixelRepresentation, 0)
            .Binary(DicomTags.PixelData, "OB", pixels);
        return ds;
    }

    /// <summary>
    /// The overlay with a band below holding <paramref name="lines"/>, scaled so the longest line spans most of the
    /// width (at least one font pixel per image pixel; longer lines are clipped). The first line, the decision, is amber
    /// when it refers so it stands out as it does on the status lights.
    /// </summary>
    internal static RgbImage BurnIn(RgbImage overlay, IReadOnlyList<string> lines, bool emphasiseFirstLine)
    {
        ArgumentNullException.ThrowIfNull(overlay);
        var longest = Math.Max(1, lines.Max(l => l.Length));
        var scale = Math.Max(1, overlay.Width * 94 / 100 / (longest * BitmapFont.CellWidth));
        var margin = 2 * scale;
        var bandHeight = (lines.Count * BitmapFont.CellHeight * scale) + (2 * margin);
        var width = overlay.Width;
        var height = overlay.Height + bandHeight;
        if (height > ushort.MaxValue || width > ushort.MaxValue)
        {
            throw new DicomResultException($"The overlay ({overlay.Width} x {overlay.Height}) is too large for a Secondary Capture.");
        }

        var pixels = new byte[checked(width * height * 3)];
        overlay.Pixels.CopyTo(pixels, 0);

        for (var line = 0; line < lines.Count; line++)
        {
            (byte R, byte G, byte B) colour = line == 0 && emphasiseFirstLine ? ((byte)255, (byte)176, (byte)0) : ((byte)255, (byte)255, (byte)255);
            var top = overlay.Height + margin + (line * BitmapFont.CellHeight * scale);
            DrawText(pixels, width, height, margin, top, lines[line], scale, colour);
        }

        return new RgbImage(width, height, pixels);
    }

    private static void DrawText(byte[] pixels, int width, int height, int left, int top, string text, int scale, (byte R, byte G, byte B) colour) =>
        BitmapFont.Render(text, left, top, scale, (x, y, size) => FillSquare(pixels, width, height, x, y, size, colour));

    private static void FillSquare(byte[] pixels, int width, int height, int x0, int y0, int size, (byte R, byte G, byte B) colour)
    {
        for (var y = y0; y < Math.Min(y0 + size, height); y++)
        {
            for (var x = x0; x < Math.Min(x0 + size, width); x++)
            {
                var offset = ((y * width) + x) * 3;
                pixels[offset] = colour.R;
                pixels[offset + 1] = colour.G;
                pixels[offset + 2] = colour.B;
            }
        }
    }
}
