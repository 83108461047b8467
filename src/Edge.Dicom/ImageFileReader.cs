using Edge.Domain;
using Edge.Imaging;

namespace Edge.Dicom;

/// <summary>
/// Reads DICOM, PNG or JPEG, chosen by the file's first bytes (the extension is not trusted):
/// PNG signature, JPEG SOI, "DICM" at offset 128, otherwise DICOM without preamble and meta header.
/// </summary>
public sealed class ImageFileReader : IImageFileReader
{
    private const int SniffLength = 132;

    public async ValueTask<DecodedImage> ReadAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var head = await ReadHeadAsync(path, cancellationToken).ConfigureAwait(false);
        var kind = Sniff(head);
        if (kind == ImageFormat.Dicom)
        {
            // GDCM reads the file itself by path; decoding is synchronous, so keep it off the caller's thread.
            return await Task.Run(() => DicomFileReader.Read(path), cancellationToken).ConfigureAwait(false);
        }

        var bytes = await ReadAllAsync(path, cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => kind == ImageFormat.Png ? PngDecoder.Decode(bytes) : JpegDecoder.Decode(bytes), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The container the leading bytes announce; DICOM when nothing else matches (old files have no magic).</summary>
    public static ImageFormat Sniff(ReadOnlySpan<byte> head)
    {
        if (PngDecoder.HasSignature(head))
        {
            return ImageFormat.Png;
        }

        return JpegDecoder.HasSignature(head) ? ImageFormat.Jpeg : ImageFormat.Dicom;
    }

    private static async Task<byte[]> ReadHeadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, useAsync: true);
            var head = new byte[SniffLength];
            var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return head[..read];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw OpenFailure(ex);
        }
    }

    private static async Task<byte[]> ReadAllAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw OpenFailure(ex);
        }
    }

    // The path is left out on purpose: consoles sometimes name files after the patient.
    private static ImageReadException OpenFailure(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => new ImageReadException("Image file not found.", ex),
        UnauthorizedAccessException => new ImageReadException("Image file cannot be opened (permission denied).", ex),
        _ => new ImageReadException("Image file cannot be read (I/O error).", ex),
    };
}
