using Edge.Domain;

namespace Edge.Dicom.Tests;

public class DicomFileReaderTests
{
    // Rows, columns, bits and photometric from ../shared/data/dicom/manifest.csv.
    [Theory]
    [InlineData("CR-MONO1-10-chest.dcm", 440, 440, 10, "MONOCHROME1", "1.2.840.10008.1.2", "CR")]
    [InlineData("RG1_J2KI.dcm", 1955, 1841, 15, "MONOCHROME1", "1.2.840.10008.1.2.4.91", "CR")]
    [InlineData("966_fixed.dcm", 2128, 2000, 12, "MONOCHROME1", "1.2.840.10008.1.2.4.90", "DX")]
    [InlineData("JPEG2KLossless_1s_1f_u_16_16.dcm", 1416, 1420, 16, "MONOCHROME2", "1.2.840.10008.1.2.4.90", "DX")]
    [InlineData("nonchest/RG2_JPLL.dcm", 2140, 1760, 10, "MONOCHROME2", "1.2.840.10008.1.2.4.70", "CR")]
    public void Read_SharedFile_MatchesManifest(string file, int rows, int columns, int bits, string photometric, string transferSyntax, string modality)
    {
        var image = DicomFileReader.Read(TestData.SharedDicom(file));

        Assert.Equal(ImageFormat.Dicom, image.Header.Format);
        Assert.Equal((columns, rows), (image.Pixels.Width, image.Pixels.Height));
        Assert.Equal(bits, image.Header.BitsStored);
        Assert.Equal(photometric, image.Header.Photometric);
        Assert.Equal(transferSyntax, image.Header.TransferSyntaxUid);
        Assert.Equal(modality, image.Header.Modality);
    }

    // Expected values computed once, independently of this code:
    //  CR-MONO1: dcmdump +W (raw words) & 0x3FF in numpy;  RG2_JPLL: dcmdjpeg, then the same;
    //  966_fixed / RG1_J2KI: the J2K codestream from dcmdump +W decoded by PIL/OpenJPEG 2.5 (>> 4 and >> 1 to undo PIL's 16-bit scaling);
    //  JPEG2KLossless (OpenJPEG via PIL rejects the stream): gdcm-sharp's raw Image.GetBuffer, as gdcmraw would write it.
    // Each: min, max, mean, and the value at (0,0), (rows/2, cols/2), (rows/3, 2*cols/3), (rows-1, cols-1).
    [Theory]
    [InlineData("CR-MONO1-10-chest.dcm", 0, 979, 501.8573, 0, 285, 689, 0)]
    [InlineData("RG1_J2KI.dcm", 803, 26512, 7391.4497, 18876, 3342, 16738, 2856)]
    [InlineData("966_fixed.dcm", 0, 4095, 1531.2952, 1973, 880, 1404, 4095)]
    [InlineData("JPEG2KLossless_1s_1f_u_16_16.dcm", 32744, 65535, 37573.5084, 46547, 33594, 34279, 65535)]
    [InlineData("nonchest/RG2_JPLL.dcm", 0, 893, 450.3763, 893, 404, 288, 893)]
    public void Read_SharedFile_PixelStatisticsMatchReferenceDecoders(string file, float min, float max, double mean, float topLeft, float centre, float third, float bottomRight)
    {
        var pixels = DicomFileReader.Read(TestData.SharedDicom(file)).Pixels;
        var (w, h) = (pixels.Width, pixels.Height);

        Assert.Equal(min, pixels.Pixels.Min());
        Assert.Equal(max, pixels.Pixels.Max());
        Assert.Equal(mean, pixels.Pixels.Average(p => (double)p), 3);
        Assert.Equal(topLeft, pixels.Pixels[0]);
        Assert.Equal(centre, pixels.Pixels[((h / 2) * w) + (w / 2)]);
        Assert.Equal(third, pixels.Pixels[((h / 3) * w) + (2 * w / 3)]);
        Assert.Equal(bottomRight, pixels.Pixels[^1]);
    }

    [Fact]
    public void Read_AcrNemaFileWithoutMetaHeader_ReadsHeaderFields()
    {
        var header = DicomFileReader.Read(TestData.SharedDicom("CR-MONO1-10-chest.dcm")).Header;

        Assert.True(header.DisplaysInverted);
        Assert.Equal("CHEST", header.BodyPartExamined);
        Assert.Equal("PA", header.ViewPosition);
        Assert.Equal(550, header.WindowCenter);
        Assert.Equal(1024, header.WindowWidth);
        Assert.Equal("FUJI PHOTO FILM CO. LTD.", header.Manufacturer);
        Assert.Equal("9000", header.ManufacturerModelName);
        Assert.Equal(["ORIGINAL PRIMARY"], header.ImageType);

        // ACR-NEMA style "1993.02.24" / "17:58:00".
        Assert.Equal(new DateTimeOffset(1993, 2, 24, 17, 58, 0, TimeSpan.Zero), header.AcquiredAt);
    }

    [Fact]
    public void Read_Monochrome1WithPresentationInverse_DisplaysInvertedOnce()
    {
        var header = DicomFileReader.Read(TestData.SharedDicom("966_fixed.dcm")).Header;

        // DX requires INVERSE with MONOCHROME1 (PS3.3 C.8.11.3): the shape states the one inversion, it does not add a second.
        Assert.Equal("MONOCHROME1", header.Photometric);
        Assert.Equal("INVERSE", header.PresentationLutShape);
        Assert.True(header.DisplaysInverted);
        Assert.Equal((0.16, 0.16), header.PixelSpacingMm);
        Assert.Equal(["DERIVED", "PRIMARY"], header.ImageType);
        Assert.Equal(["L", "F"], header.PatientOrientation);
        Assert.Null(header.AgeYears); // birth date is a hash in this anonymised file
        Assert.Null(header.AcquiredAt);
    }

    // Found by fuzzing the intake: group 0002 whose VRs are not valid sends GDCM down its implicit-VR meta path, where an
    // assertion aborts the process. The managed check must refuse it first (without it this test run would abort).
    [Fact]
    public void Read_MetaGroupNotExplicitVr_RefusedBeforeGdcm()
    {
        var path = Path.Combine(TestSupport.Repo.Root, "tests", "Edge.Fuzz", "Regressions", "intake", "gdcm-meta-implicit-assert.bin");

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(path));

        Assert.Equal("DICOM file meta information is malformed (group 0002 is not Explicit VR).", error.Message);
    }

    [Fact]
    public void Read_HipImage_ReportsBodyPartHip()
    {
        var image = DicomFileReader.Read(TestData.SharedDicom("nonchest/RG2_JPLL.dcm"));

        Assert.Equal("HIP", image.Header.BodyPartExamined);
        Assert.Equal("M", image.Header.Sex);
        Assert.Equal((0.2, 0.2), image.Header.PixelSpacingMm);
        Assert.Equal(new DateTimeOffset(1997, 3, 14, 9, 13, 0, TimeSpan.FromHours(-4)), image.Header.AcquiredAt); // Timezone Offset From UTC -0400
    }

    [Fact]
    public void Read_NonAsciiManufacturer_DoesNotThrowAndFallsBackToImagerSpacing()
    {
        var image = DicomFileReader.Read(TestData.SharedDicom("JPEG2KLossless_1s_1f_u_16_16.dcm"));

        Assert.NotNull(image.Header.Manufacturer);
        Assert.EndsWith("(JSC Rentgenprom)", image.Header.Manufacturer, StringComparison.Ordinal);
        Assert.Null(image.Header.BodyPartExamined);
        Assert.Equal((0.4, 0.4), image.Header.PixelSpacingMm);
        Assert.Equal("F", image.Header.Sex);
        Assert.Equal(47, image.Header.AgeYears); // born 1957-01-01, studied 2004-08-31
        Assert.Equal("19570101", image.Identity.BirthDate);
        Assert.NotNull(image.Identity.PatientName);
        Assert.Equal(2725, image.Header.WindowCenter);
        Assert.Equal(5310, image.Header.WindowWidth);
    }

    [Fact]
    public void Read_ZeroPixelSpacing_UsesNull()
    {
        var header = DicomFileReader.Read(TestData.SharedDicom("RG1_J2KI.dcm")).Header;

        Assert.Null(header.PixelSpacingMm); // "0.000\0.000" and no Imager Pixel Spacing
        Assert.Equal(new DateTimeOffset(1995, 9, 26, 12, 51, 30, TimeSpan.FromHours(-4)), header.AcquiredAt); // Content Date/Time, offset -0400
        Assert.Equal(64, header.AgeYears); // born 1940-03-05, study 2004-08-26
    }

    [Fact]
    public void Read_Signed12BitWithJunkHighBitsAndRescale_MasksSignExtendsAndRescales()
    {
        var image = DicomFileReader.Read(TestData.Fixture("signed12.dcm"));

        // Stored -2048, -1, 0, 1, 2047, -1000, 500, -7, then x2 - 100.
        Assert.Equal([-4196f, -102f, -100f, -98f, 3994f, -2100f, 900f, -114f], image.Pixels.Pixels);
        Assert.Equal(12, image.Header.BitsStored);
        Assert.Equal(0, image.Header.AgeYears); // "006M"
    }

    [Theory]
    [InlineData("rgb.dcm", 0.01)]
    [InlineData("rgb_rle.dcm", 0.01)]
    [InlineData("rgb_jpeg.dcm", 0.01)]
    [InlineData("rgb_ybr.dcm", 12)]
    public void Read_ColourDicom_ReturnsLuma(string file, double tolerance)
    {
        var image = DicomFileReader.Read(TestData.Fixture(file));
        double[] expected = [76.245, 149.685, 29.07, 18.15, 124.2, 255]; // 0.299 R + 0.587 G + 0.114 B of rgb.raw

        Assert.Equal((3, 2), (image.Pixels.Width, image.Pixels.Height));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - image.Pixels.Pixels[i]) <= tolerance, $"{file} pixel {i}: expected {expected[i]}, got {image.Pixels.Pixels[i]}");
        }
    }

    [Fact]
    public void Read_TextFile_ThrowsNotDicom()
    {
        var ex = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(TestData.Fixture("not-dicom.dcm")));

        Assert.Contains("Not a DICOM file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedFile_ThrowsImageReadExceptionWithoutPatientData()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edge-truncated-{Guid.NewGuid():N}.dcm");
        var bytes = File.ReadAllBytes(TestData.SharedDicom("nonchest/RG2_JPLL.dcm"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        try
        {
            var ex = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(path));

            Assert.DoesNotContain(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Register_CalledTwice_DoesNotThrow()
    {
        GdcmNativeLibrary.Register();
        GdcmNativeLibrary.Register();
    }
}
