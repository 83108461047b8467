using Edge.Domain;
using Edge.Imaging;

namespace Edge.Dicom.Tests;

public class ImageFileReaderTests
{
    private readonly ImageFileReader reader = new();

    [Fact]
    public async Task ReadAsync_DicomWithMisleadingExtension_SniffsDicom()
    {
        var path = CopyToTemp(TestData.SharedDicom("CR-MONO1-10-chest.dcm"), ".png");
        try
        {
            var image = await reader.ReadAsync(path, CancellationToken.None);

            Assert.Equal(ImageFormat.Dicom, image.Header.Format);
            Assert.Equal("MONOCHROME1", image.Header.Photometric);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ReadAsync_PngWithDicomExtension_SniffsPng()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edge-{Guid.NewGuid():N}.dcm");
        await File.WriteAllBytesAsync(path, PngEncoder.Encode(new Gray8Image(3, 2, [1, 2, 3, 4, 5, 6])));
        try
        {
            var image = await reader.ReadAsync(path, CancellationToken.None);

            Assert.Equal(ImageFormat.Png, image.Header.Format);
            Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], image.Pixels.Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ReadAsync_JpegFile_SniffsJpeg()
    {
        // A JPEG-coded DICOM fragment is a plain JPEG stream; take one from a baseline DICOM made by DCMTK.
        var dicom = await File.ReadAllBytesAsync(TestData.Fixture("rgb_ybr.dcm"));
        var start = dicom.AsSpan().IndexOf((byte[])[0xFF, 0xD8, 0xFF]);
        var end = dicom.AsSpan().LastIndexOf((byte[])[0xFF, 0xD9]) + 2;
        var path = Path.Combine(Path.GetTempPath(), $"edge-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(path, dicom[start..end]);
        try
        {
            var image = await reader.ReadAsync(path, CancellationToken.None);

            Assert.Equal(ImageFormat.Jpeg, image.Header.Format);
            Assert.Equal((3, 2), (image.Pixels.Width, image.Pixels.Height));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ReadAsync_NotAnImage_ThrowsImageReadException()
    {
        await Assert.ThrowsAsync<ImageReadException>(async () => await reader.ReadAsync(TestData.Fixture("not-dicom.dcm"), CancellationToken.None));
    }

    [Fact]
    public async Task ReadAsync_MissingFile_ThrowsImageReadExceptionWithoutPath()
    {
        var path = Path.Combine(Path.GetTempPath(), "Doe^Jane-missing.dcm");

        var ex = await Assert.ThrowsAsync<ImageReadException>(async () => await reader.ReadAsync(path, CancellationToken.None));

        Assert.DoesNotContain("Doe", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CancelledToken_ThrowsOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.ReadAsync(TestData.SharedDicom("RG1_J2KI.dcm"), cancelled.Token));
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, ImageFormat.Png)]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, ImageFormat.Jpeg)]
    [InlineData(new byte[] { 0x08, 0x00, 0x00, 0x00 }, ImageFormat.Dicom)]
    public void Sniff_LeadingBytes_PicksFormat(byte[] head, ImageFormat expected)
    {
        Assert.Equal(expected, ImageFileReader.Sniff(head));
    }

    private static string CopyToTemp(string source, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"edge-{Guid.NewGuid():N}{extension}");
        File.Copy(source, path);
        return path;
    }
}
