using System.Text;
using Edge.Imaging;

namespace Edge.Dicom.Results;

/// <summary>
/// Writes the two result objects of a screened image, joined to its study: a Comprehensive SR (the result as coded,
/// machine-readable content) and an RGB Secondary Capture (the heatmap overlay with the result burned in, for any
/// viewer). Both are Part-10 files in Explicit VR Little Endian, encoded by us, and pass dciodvfy.
/// </summary>
public sealed class DicomResultWriter
{
    private readonly DicomResultOptions options;

    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public DicomResultWriter(DicomResultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid DICOM result options: " + string.Join(" ", problems), nameof(options));
        }

        this.options = options;
    }

    /// <summary>
    /// Writes <c>{resultId}.sr.dcm</c> and <c>{resultId}.sc.dcm</c> into <paramref name="outputDirectory"/>, each
    /// flushed to disk under a temporary name and then renamed, so a reader never sees half a file. Writing again for
    /// the same result replaces the files with identical UIDs.
    /// </summary>
    /// <param name="sourcePath">The screened DICOM file: its patient, study and references are copied.</param>
    /// <param name="overlay">The displayed radiograph with the heatmap (<see cref="HeatmapOverlay.Render"/>).</param>
    /// <exception cref="DicomResultException">The source is not DICOM or lacks its UIDs, or the files cannot be written.</exception>
    public async ValueTask<DicomResultFiles> WriteAsync(string sourcePath, ScreeningReport report, RgbImage overlay, string outputDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(overlay);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);

        var source = SourceStudy.Read(sourcePath);
        var srUid = ResultUids.StructuredReportInstance(report.ResultId, source.SopInstanceUid);
        var scUid = ResultUids.SecondaryCaptureInstance(report.ResultId, source.SopInstanceUid);
        var sr = StructuredReport.Build(source, report, options, srUid, ResultUids.Series(source.StudyInstanceUid, "SR", options.DeviceId));
        var sc = SecondaryCapture.Build(source, report, overlay, options, scUid, ResultUids.Series(source.StudyInstanceUid, "OT", options.DeviceId));

        var name = FileSafe(report.ResultId);
        var srPath = Path.Combine(outputDirectory, name + ".sr.dcm");
        var scPath = Path.Combine(outputDirectory, name + ".sc.dcm");
        try
        {
            Directory.CreateDirectory(outputDirectory);
            await WriteFileAsync(srPath, sr, StructuredReport.ComprehensiveSrStorage, srUid, cancellationToken).ConfigureAwait(false);
            await WriteFileAsync(scPath, sc, SecondaryCapture.SecondaryCaptureImageStorage, scUid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DicomResultException($"The result objects cannot be written to {outputDirectory}: {ex.Message}", ex);
        }

        return new DicomResultFiles(srPath, scPath, source.StudyInstanceUid, srUid, scUid);
    }

    /// <summary>The bytes of one object as a Part-10 file; ISO_IR 192 (UTF-8) is declared only when some text needs it.</summary>
    internal static byte[] Encode(DicomDataSet dataSet, string sopClassUid, string sopInstanceUid)
    {
        var unicode = dataSet.NeedsUnicode();
        if (unicode)
        {
            dataSet.Text(DicomTags.SpecificCharacterSet, "CS", "ISO_IR 192");
        }

        using var buffer = new MemoryStream();
        ExplicitVrLittleEndian.WritePart10(buffer, dataSet, sopClassUid, sopInstanceUid, unicode ? new UTF8Encoding(false) : Encoding.ASCII);
        return buffer.ToArray();
    }

    private static async Task WriteFileAsync(string path, DicomDataSet dataSet, string sopClassUid, string sopInstanceUid, CancellationToken cancellationToken)
    {
        var bytes = Encode(dataSet, sopClassUid, sopInstanceUid);
        var temporary = path + ".tmp";
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
        {
            await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Result ids are time-ordered tokens; anything else is replaced so an id can never name a path.</summary>
    private static string FileSafe(string resultId)
    {
        var chars = resultId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var name = new string(chars).Trim('.');
        return name.Length == 0 ? "result" : name;
    }
}
