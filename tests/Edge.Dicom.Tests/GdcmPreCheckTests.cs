using System.Buffers.Binary;
using System.Text;
using Edge.Dicom.Network;
using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Dicom.Tests;

/// <summary>
/// The managed refusals of what makes GDCM abort(). The file-level tests run GDCM in this process after the check, so a
/// rule that let its input through would take the test host down rather than fail politely: that too is a failure.
/// </summary>
public sealed class GdcmPreCheckTests : IDisposable
{
    private const string ExplicitLittle = "1.2.840.10008.1.2.1";
    private const string JpegLossless = "1.2.840.10008.1.2.4.70";
    private const string JpegBaseline = "1.2.840.10008.1.2.4.50";

    private readonly TempDirectory temp = new("edge-precheck");

    public void Dispose() => temp.Dispose();

    // ---- element shapes -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0x64E0_0000u, "OB")]
    [InlineData(0x0028_0003u, "OB")]
    [InlineData(0x7FE0_0910u, "OW")]
    public void CheckElementShape_UndefinedLengthOtherBytesOutsidePixelData_Refused(uint tag, string vr)
    {
        Assert.Contains("has undefined length but is not Pixel Data", GdcmPreCheck.CheckElementShape(tag, vr, 0xFFFF_FFFF));
    }

    [Theory]
    [InlineData(0x7FE0_0010u, "OB", 0xFFFF_FFFFu)]
    [InlineData(0x7FE0_0010u, "OW", 0xFFFF_FFFFu)]
    [InlineData(0x0040_0275u, "SQ", 0xFFFF_FFFFu)]
    [InlineData(0x0009_1001u, "UN", 0xFFFF_FFFFu)]
    [InlineData(0x0009_1001u, "OB", 16u)]
    [InlineData(0x7FE0_0010u, "OW", 16u)]
    [InlineData(0x7FE0_0010u, "SQ", 0u)]
    public void CheckElementShape_ShapesGdcmReads_Passes(uint tag, string vr, uint length)
    {
        Assert.Null(GdcmPreCheck.CheckElementShape(tag, vr, length));
    }

    [Theory]
    [InlineData("UN", 0xFFFF_FFFFu, "encapsulated Pixel Data has VR UN, not OB or OW")]
    [InlineData("SQ", 0xFFFF_FFFFu, "Pixel Data is encoded as a sequence")]
    [InlineData("SQ", 24u, "Pixel Data is encoded as a sequence")]
    public void CheckElementShape_PixelDataAsSequenceOrUndefinedUn_Refused(string vr, uint length, string reason)
    {
        Assert.Equal(reason, GdcmPreCheck.CheckElementShape(GdcmPreCheck.PixelDataTag, vr, length));
    }

    // ---- pixel attributes -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(30)]
    public void CheckPixelAttributes_SamplesPerPixelNotOneOrThree_Refused(int samples)
    {
        Assert.Equal($"Samples per Pixel is {samples}, not 1 or 3", GdcmPreCheck.CheckPixelAttributes(samples, 8, 8, ExplicitLittle));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public void CheckPixelAttributes_FewerThanEightStoredInEightAllocated_Refused(int bitsStored)
    {
        Assert.Equal($"Bits Stored is {bitsStored} with 8 Bits Allocated", GdcmPreCheck.CheckPixelAttributes(1, 8, bitsStored, ExplicitLittle));
        Assert.NotNull(GdcmPreCheck.CheckPixelAttributes(3, 8, bitsStored, JpegLossless));
    }

    [Theory]
    [InlineData(1, 8, 8, JpegBaseline)]
    [InlineData(3, 8, 8, JpegLossless)]
    [InlineData(1, 16, 12, JpegLossless)]
    [InlineData(1, 16, 10, ExplicitLittle)]
    [InlineData(1, 8, 0, ExplicitLittle)] // GDCM ignores 0 and keeps 8
    [InlineData(1, 8, 12, ExplicitLittle)] // and more than allocated
    [InlineData(1, 32, 32, ExplicitLittle)]
    [InlineData(null, null, null, JpegLossless)]
    public void CheckPixelAttributes_AttributesGdcmDecodes_Passes(int? samples, int? bitsAllocated, int? bitsStored, string transferSyntax)
    {
        Assert.Null(GdcmPreCheck.CheckPixelAttributes(samples, bitsAllocated, bitsStored, transferSyntax));
    }

    [Theory]
    [InlineData(32, 8)]
    [InlineData(32, 31)]
    [InlineData(12, 10)]
    public void CheckPixelAttributes_FewerStoredThanAllocatedOutside8And16_Refused(int bitsAllocated, int bitsStored)
    {
        Assert.Equal($"Bits Stored is {bitsStored} with {bitsAllocated} Bits Allocated", GdcmPreCheck.CheckPixelAttributes(1, bitsAllocated, bitsStored, ExplicitLittle));
    }

    [Theory]
    [InlineData("SH", 0u, "", true)]
    [InlineData("SH", 12u, "ACR-NEMA", true)]
    [InlineData("SH", 8u, "ACRNEMA ", true)]
    [InlineData("SH", 8u, "MIPS 2.0", true)]
    [InlineData("UI", 26u, "1.2.840.", false)]
    [InlineData("SQ", 16u, "", false)]
    [InlineData("UN", 0xFFFF_FFFFu, "", false)]
    public void CheckRecognitionCode_OnlyAcrNemaText_Passes(string vr, uint length, string start, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckRecognitionCode(vr, length, Encoding.ASCII.GetBytes(start)) is null);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(1800)]
    [InlineData(65288)]
    public void CheckPixelAttributes_JpegWithMoreThanSixteenBitsAllocated_Refused(int bitsAllocated)
    {
        Assert.Equal($"Bits Allocated is {bitsAllocated}, more than a JPEG decoder takes (16)", GdcmPreCheck.CheckPixelAttributes(1, bitsAllocated, 8, JpegLossless));
        Assert.Null(GdcmPreCheck.CheckPixelAttributes(1, bitsAllocated, bitsAllocated, "1.2.840.10008.1.2.4.90")); // not the JPEG codec's
    }

    [Theory]
    [InlineData("1.2.840.10008.1.2.4.50", true)]
    [InlineData("1.2.840.10008.1.2.4.51", true)]
    [InlineData("1.2.840.10008.1.2.4.57", true)]
    [InlineData("1.2.840.10008.1.2.4.70", true)]
    [InlineData("1.2.840.10008.1.2.4.80", false)] // JPEG-LS
    [InlineData("1.2.840.10008.1.2.4.90", false)] // JPEG 2000
    [InlineData("1.2.840.10008.1.2.4.5", false)]
    [InlineData("1.2.840.10008.1.2.5", false)]
    [InlineData(null, false)]
    public void IsJpegProcess_TransferSyntax_MatchesGdcmJpegCodec(string? transferSyntax, bool expected)
    {
        Assert.Equal(expected, GdcmPreCheck.IsJpegProcess(transferSyntax));
    }

    [Theory]
    [InlineData(0x0028_0100u, "IS", "(0028,0100) has VR IS, not US")]
    [InlineData(0x0028_0010u, "SS", "(0028,0010) has VR SS, not US")]
    [InlineData(0x0028_1052u, "US", "(0028,1052) has VR US, not DS")]
    [InlineData(0x0028_1101u, "OW", "(0028,1101) has VR OW, not US or SS")]
    public void CheckAttributeVr_TypedAttributeWithOtherVr_Refused(uint tag, string vr, string reason)
    {
        Assert.Equal(reason, GdcmPreCheck.CheckAttributeVr(tag, vr));
    }

    [Theory]
    [InlineData(0x0028_0100u, "US")]
    [InlineData(0x0028_0100u, "UN")] // GDCM takes UN for any VR
    [InlineData(0x0028_1101u, "SS")]
    [InlineData(0x0028_0008u, "IS")]
    [InlineData(0x0028_0009u, "AT")]
    [InlineData(0x0009_1001u, "LO")] // not one GDCM reads as a typed value
    public void CheckAttributeVr_DictionaryVrOrUn_Passes(uint tag, string vr)
    {
        Assert.Null(GdcmPreCheck.CheckAttributeVr(tag, vr));
    }

    [Theory]
    [InlineData(12, 12, 2, 4, 1, 1, true)] // 8 pixels packed in 12 bytes
    [InlineData(16, 12, 2, 4, 1, 1, false)]
    [InlineData(16, 16, 2, 4, 1, 1, true)]
    [InlineData(14, 16, 2, 4, 1, 1, false)]
    [InlineData(18, 8, 2, 3, 3, 1, true)]
    [InlineData(36, 8, 2, 3, 3, 2, true)]
    [InlineData(18, 8, 2, 3, 3, 2, false)]
    [InlineData(1, 1, 2, 4, 1, 1, true)] // 8 bits in one byte
    public void CheckNativePixelData_LengthTheImageNeeds(long length, int bitsAllocated, int rows, int columns, int samples, int frames, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckNativePixelData(length, rows, columns, samples, bitsAllocated, frames) is null);
    }

    [Theory]
    [InlineData(true, 8, 0, true)]
    [InlineData(true, 16, 1, true)]
    [InlineData(true, 1, 0, true)]
    [InlineData(false, null, null, true)]
    [InlineData(true, null, 0, false)]
    [InlineData(true, 0, 0, false)]
    [InlineData(true, 1, 1, false)]
    [InlineData(true, 24, 1, false)]
    public void CheckScalarType_TypesGdcmHas_Pass(bool hasPixelData, int? bitsAllocated, int? pixelRepresentation, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckScalarType(hasPixelData, bitsAllocated, pixelRepresentation) is null);
    }

    [Theory]
    [InlineData(true, 2, 3, true)]
    [InlineData(false, null, null, true)] // not an image: GDCM says so itself
    [InlineData(true, 2, null, false)]
    [InlineData(true, null, 3, false)]
    [InlineData(true, 0, 3, false)]
    [InlineData(true, 2, 0, false)]
    public void CheckDimensions_PixelDataNeedsRowsAndColumns(bool hasPixelData, int? rows, int? columns, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckDimensions(hasPixelData, rows, columns) is null);
    }

    [Theory]
    [InlineData(4320, 4320, true)]
    [InlineData(10000, 10000, true)]
    [InlineData(10000, 10001, false)]
    [InlineData(65535, 65535, false)]
    public void CheckDimensions_BeyondTheDecodersPixelLimit_Refused(int rows, int columns, bool passes)
    {
        // A compressed image is decoded into Rows x Columns whatever its codestream holds: 65535 x 65535 asks for 8 GiB.
        var problem = GdcmPreCheck.CheckDimensions(true, rows, columns);

        Assert.Equal(passes, problem is null);
        if (!passes)
        {
            Assert.Contains("too large", problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(65023, false)]
    public void CheckPlanarConfiguration_OnlyZeroOrOne_Passes(int? planarConfiguration, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckPlanarConfiguration(planarConfiguration) is null);
    }

    [Theory]
    [InlineData(0, true, null, true)] // nothing after the Pixel Data
    [InlineData(3, false, "the data set ends inside an element header", true)] // GDCM stops at the end of the file
    [InlineData(4, true, "the data set ends inside an element header", false)]
    [InlineData(7, true, "the data set ends inside an element header", false)]
    [InlineData(8, true, "element (0000,0000) has no valid VR", true)] // zero padding: GDCM stops at tag (0000,0000)
    [InlineData(12, false, "an element length (16) runs past the end of the data set", false)]
    [InlineData(20, false, null, true)] // well-formed elements
    public void CheckAfterPixelData_Trailing_RefusedOnlyWhereGdcmReadsIntoTheEnd(long trailing, bool allZero, string? malformed, bool passes)
    {
        Assert.Equal(passes, GdcmPreCheck.CheckAfterPixelData(trailing, allZero, malformed) is null);
    }

    [Theory]
    [InlineData(2, 3, 7, "RLE with 7 Bits Allocated, not 8, 16 or 32")]
    [InlineData(2, 3, 59912, "RLE with 59912 Bits Allocated, not 8, 16 or 32")]
    [InlineData(2, 3, null, "RLE with no Bits Allocated, not 8, 16 or 32")]
    [InlineData(0, 3, 8, "RLE image with no Rows or Columns")]
    [InlineData(2, null, 16, "RLE image with no Rows or Columns")]
    public void CheckRleAttributes_WhatTheCodecAssertsOn_Refused(int? rows, int? columns, int? bitsAllocated, string reason)
    {
        Assert.Equal(reason, GdcmPreCheck.CheckRleAttributes(rows, columns, bitsAllocated));
    }

    [Fact]
    public void CheckRleFrame_WellFormedFrame_Passes()
    {
        // 2 x 3, one 8-bit sample: one segment of 6 bytes, as a literal run of 2 and a replicate run of 4.
        Assert.Null(GdcmPreCheck.CheckRleFrame(RleFrame([[1, 10, 20, 0xFD, 7]]), 2, 3, 1, 8));
        // 16 bits: two segments (high bytes, low bytes); a no-op -128 in between.
        Assert.Null(GdcmPreCheck.CheckRleFrame(RleFrame([[0xFB, 0], [0x80, 0xFB, 9]]), 2, 3, 1, 16));
    }

    [Theory]
    [InlineData(2, "the RLE header has 2 segments, not 1")]
    [InlineData(0x1500_0003, "the RLE header has 352321539 segments, not 1")]
    public void CheckRleFrame_SegmentCountNotOnePerSampleByte_Refused(int segments, string reason)
    {
        var frame = RleFrame([[0xFB, 0]]);
        BinaryPrimitives.WriteInt32LittleEndian(frame, segments);

        Assert.Equal(reason, GdcmPreCheck.CheckRleFrame(frame, 2, 3, 1, 8));
    }

    [Fact]
    public void CheckRleFrame_FirstOffsetNot64_Refused()
    {
        var frame = RleFrame([[0xFB, 0]]);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), 66);

        Assert.Equal("the first RLE segment does not start after the header", GdcmPreCheck.CheckRleFrame(frame, 2, 3, 1, 8));
    }

    [Theory]
    [InlineData(new byte[] { 0xFA, 0 }, "RLE segment 1 decodes to 7 bytes, not 6")] // a run of 7 into 6
    [InlineData(new byte[] { 0xFD, 0 }, "RLE segment 1 runs past the end of its frame")] // 4 of 6, then nothing
    [InlineData(new byte[] { 5, 1, 2 }, "RLE segment 1 runs past the end of its frame")] // a literal of 6 with 2 bytes
    [InlineData(new byte[] { 0xFB }, "RLE segment 1 runs past the end of its frame")] // a replicate run without its byte
    public void CheckRleFrame_SegmentNotDecodingToItsLength_Refused(byte[] segment, string reason)
    {
        Assert.Equal(reason, GdcmPreCheck.CheckRleFrame(RleFrame([segment]), 2, 3, 1, 8));
    }

    [Fact]
    public void CheckRleFrame_HeaderCutShort_Refused()
    {
        Assert.Equal("the RLE header is cut short", GdcmPreCheck.CheckRleFrame(new byte[40], 2, 3, 1, 8));
    }

    [Fact]
    public void CheckRleFrame_DcmtkRgbFrame_Passes()
    {
        // rgb_rle.dcm: 2 x 3 RGB, 8 bits, one fragment after an empty offset table.
        var dicom = File.ReadAllBytes(TestData.Fixture("rgb_rle.dcm"));
        var header = dicom.AsSpan().IndexOf((byte[])[0x03, 0, 0, 0, 0x40, 0, 0, 0]);

        Assert.Null(GdcmPreCheck.CheckRleFrame(dicom.AsSpan(header), 2, 3, 3, 8));
    }

    // ---- JPEG headers ---------------------------------------------------------------------------------------------

    [Fact]
    public void CheckJpegHeader_MinimalLosslessHeader_Passes()
    {
        Assert.Null(GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC3, 8, 3))));
    }

    [Theory]
    [InlineData(0x13)]
    [InlineData(0xDA)]
    public void CheckJpegHeader_ByteBetweenSegments_Refused(byte stray)
    {
        var header = Jpeg(Sof(0xC3, 8, 3), [stray]);

        Assert.Equal("the JPEG header has bytes that are not a marker between its segments", GdcmPreCheck.CheckJpegHeader(header));
    }

    [Fact]
    public void CheckJpegHeader_StuffedZeroWhereMarkerExpected_Refused()
    {
        Assert.NotNull(GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC3, 8, 1), [0xFF, 0x00])));
    }

    [Fact]
    public void CheckJpegHeader_FillBytesBeforeMarker_Passes()
    {
        Assert.Null(GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC0, 8, 1), [0xFF, 0xFF])));
    }

    [Theory]
    [InlineData(0xC0, 7)]
    [InlineData(0xC0, 16)]
    [InlineData(0xC2, 10)]
    [InlineData(0xC3, 1)]
    [InlineData(0xC3, 17)]
    public void CheckJpegHeader_PrecisionTheCodecAssertsOn_Refused(byte sof, byte precision)
    {
        Assert.Equal($"the JPEG frame header has a sample precision of {precision} bits", GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(sof, precision, 1))));
    }

    [Theory]
    [InlineData(7, 16)]
    [InlineData(2, 8)]
    [InlineData(9, 8)]
    [InlineData(14, 8)]
    [InlineData(13, 12)]
    [InlineData(16, 12)]
    public void CheckJpegHeader_LosslessPrecisionOutsideTheBuildForBitsAllocated_Refused(byte precision, int bitsAllocated)
    {
        Assert.StartsWith($"the JPEG lossless precision of {precision} bits does not fit", GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC3, precision, 1)), bitsAllocated), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, 8)]
    [InlineData(12, 12)]
    [InlineData(12, 16)]
    [InlineData(16, 16)]
    [InlineData(8, 16)]
    public void CheckJpegHeader_LosslessPrecisionTheBuildTakes_Passes(byte precision, int bitsAllocated)
    {
        Assert.Null(GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC3, precision, 1)), bitsAllocated));
    }

    [Theory]
    [InlineData(0xC0, 12)]
    [InlineData(0xC1, 8)]
    [InlineData(0xC3, 8)]
    [InlineData(0xC3, 16)]
    public void CheckJpegHeader_PrecisionTheCodecTakes_Passes(byte sof, byte precision)
    {
        Assert.Null(GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(sof, precision, 1)), bitsAllocated: 16));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void CheckJpegHeader_ComponentsNotOneOrThree_Refused(byte components)
    {
        Assert.Equal($"the JPEG frame header has {components} components, not 1 or 3", GdcmPreCheck.CheckJpegHeader(Jpeg(Sof(0xC0, 8, components))));
    }

    [Fact]
    public void CheckJpegHeader_JfifMajorVersionTwo_Refused()
    {
        var app0 = Segment(0xE0, [.. "JFIF\0"u8, 2, 1, 0, 0, 1, 0, 1, 0, 0]);

        Assert.Equal("the JPEG header has JFIF major version 2", GdcmPreCheck.CheckJpegHeader(Jpeg([.. app0, .. Sof(0xC0, 8, 3)])));
    }

    [Fact]
    public void CheckJpegHeader_JfifVersionOne_Passes()
    {
        var app0 = Segment(0xE0, [.. "JFIF\0"u8, 1, 1, 0, 0, 1, 0, 1, 0, 0]);

        Assert.Null(GdcmPreCheck.CheckJpegHeader(Jpeg([.. app0, .. Sof(0xC0, 8, 3)])));
    }

    [Theory]
    [InlineData(3, 2, false)]
    [InlineData(3, 1, true)]
    [InlineData(3, 0, true)]
    [InlineData(1, 2, true)] // the transform only matters for three components
    public void CheckJpegHeader_AdobeTransform_RefusedOnlyWhereLibjpegWarns(byte components, byte transform, bool passes)
    {
        var app14 = Segment(0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, transform]);

        var reason = GdcmPreCheck.CheckJpegHeader(Jpeg([.. app14, .. Sof(0xC0, 8, components)]));

        Assert.Equal(passes, reason is null);
    }

    [Theory]
    [InlineData("rgb_jpeg.dcm")]
    [InlineData("rgb_ybr.dcm")]
    public void CheckJpegHeader_DcmtkFragments_Passes(string fixture)
    {
        var dicom = File.ReadAllBytes(TestData.Fixture(fixture));
        var start = dicom.AsSpan().IndexOf((byte[])[0xFF, 0xD8, 0xFF]);

        Assert.Null(GdcmPreCheck.CheckJpegHeader(dicom.AsSpan(start)));
    }

    // ---- whole files, through the reader --------------------------------------------------------------------------

    [Fact]
    public void Read_MetaInformationWithoutDataSet_Refused()
    {
        var path = temp.Combine("meta-only.dcm");
        File.WriteAllBytes(path, Part10.FileMetaInformationBytes("1.2.840.10008.5.1.4.1.1.7", "1.2.3", ExplicitLittle, "TEST"));

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(path));

        Assert.Equal("DICOM file has meta information but no data set.", error.Message);
    }

    [Fact]
    public void Read_UndefinedLengthObOutsidePixelData_Refused()
    {
        byte[] dataSet = [.. ImageAttributes(1, 8, 8), .. Header(0x0009, 0x1001, "OB", 0xFFFF_FFFF), .. Encapsulated([0xFF, 0xD8])];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile(ExplicitLittle, dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely (element (0009,1001) of VR OB has undefined length but is not Pixel Data).", error.Message);
    }

    [Fact]
    public void Read_TwoSamplesPerPixel_Refused()
    {
        byte[] dataSet = [.. ImageAttributes(2, 8, 8), .. Element(0x7FE0, 0x0010, "OB", new byte[12])];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile(ExplicitLittle, dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely (Samples per Pixel is 2, not 1 or 3).", error.Message);
    }

    [Fact]
    public void Read_SevenBitsStoredInEightUncompressed_Refused()
    {
        byte[] dataSet = [.. ImageAttributes(1, 8, 7), .. Element(0x7FE0, 0x0010, "OB", new byte[6])];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile(ExplicitLittle, dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely (Bits Stored is 7 with 8 Bits Allocated).", error.Message);
    }

    [Fact]
    public void Read_JpegFragmentWithStrayByteInHeader_Refused()
    {
        byte[] dataSet = [.. ImageAttributes(1, 8, 8), .. Header(0x7FE0, 0x0010, "OB", 0xFFFF_FFFF), .. Encapsulated(Jpeg(Sof(0xC3, 8, 1), [0x13]))];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile(JpegLossless, dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely (the JPEG header has bytes that are not a marker between its segments).", error.Message);
    }

    public static TheoryData<string, string> FixedFindings => new()
    {
        { "gdcm-undefined-length-ob-outside-pixel-data-1.bin", "element (64E0,0000) of VR OB has undefined length but is not Pixel Data" },
        { "gdcm-undefined-length-ob-outside-pixel-data-2.bin", "element (0028,0003) of VR OB has undefined length but is not Pixel Data" },
        { "gdcm-undefined-length-ob-outside-pixel-data-3.bin", "element (7FE0,0910) of VR OB has undefined length but is not Pixel Data" },
        { "gdcm-jpeg-bytes-between-markers-1.bin", "the JPEG header has bytes that are not a marker between its segments" },
        { "gdcm-jpeg-bytes-between-markers-2.bin", "the JPEG header has bytes that are not a marker between its segments" },
        { "gdcm-bits-stored-below-8-allocated-1.bin", "Bits Stored is 4 with 8 Bits Allocated" },
        { "gdcm-bits-stored-below-8-allocated-2.bin", "Bits Stored is 7 with 8 Bits Allocated" },
        { "gdcm-bits-stored-below-8-allocated-3.bin", "Bits Stored is 7 with 8 Bits Allocated" },
        { "gdcm-samples-per-pixel-30.bin", "Samples per Pixel is 30, not 1 or 3" },
        { "gdcm-jpeg-bits-allocated-65288.bin", "Bits Allocated is 65288, more than a JPEG decoder takes (16)" },
        { "gdcm-jpeg-bits-allocated-1800.bin", "Bits Allocated is 1800, more than a JPEG decoder takes (16)" },
        { "gdcm-bits-allocated-vr-is.bin", "(0028,0100) has VR IS, not US" },
        { "gdcm-planar-configuration-1.bin", "Planar Configuration is 13568, not 0 or 1" },
        { "gdcm-planar-configuration-2.bin", "Planar Configuration is 65023, not 0 or 1" },
        { "gdcm-bytes-after-pixel-data.bin", "bytes after the Pixel Data are not whole data elements" },
        { "gdcm-six-zero-bytes-after-pixel-data.bin", "bytes after the Pixel Data are not whole data elements" },
        { "gdcm-element-past-end-after-pixel-data.bin", "bytes after the Pixel Data are not whole data elements" },
        { "gdcm-rle-bits-allocated-59912.bin", "RLE with 59912 Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-bits-allocated-15880.bin", "RLE with 15880 Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-segment-count-1.bin", "the RLE header has 59139 segments, not 1" },
        { "gdcm-rle-segment-count-2.bin", "the RLE header has 352321539 segments, not 1" },
        { "gdcm-encapsulated-no-fragment.bin", "the encapsulated Pixel Data has no fragment after its offset table" },
        { "gdcm-bits-stored-below-32-allocated.bin", "Bits Stored is 8 with 32 Bits Allocated" },
        { "gdcm-recognition-code-not-acr-nema.bin", "Recognition Code (0008,0010) is not an ACR-NEMA one" },
        { "gdcm-frame-increment-pointer-vr-cs.bin", "(0028,0009) has VR CS, not AT" },
        { "gdcm-image-dimensions-vr-cs.bin", "(0028,0005) has VR CS, not US" },
        { "gdcm-image-dimensions-vr-cs-2.bin", "(0028,0005) has VR CS, not US" },
        { "gdcm-12-bits-allocated-16-bytes-2.bin", "12-bit packed Pixel Data of 16 bytes, not a multiple of 3" },
        { "gdcm-pixel-data-shorter-than-image-2.bin", "Pixel Data holds 16 bytes, the image needs 249868" },
        { "gdcm-pixel-data-shorter-than-image-3.bin", "Pixel Data holds 16 bytes, the image needs 230412" },
        { "gdcm-pixel-data-shorter-than-image-4.bin", "Pixel Data holds 18 bytes, the image needs 11790540" },
        { "gdcm-pixel-data-shorter-than-image-5.bin", "Pixel Data holds 18 bytes, the image needs 1166994" },
        { "gdcm-jpeg-lossless-precision-14-in-8-bits.bin", "the JPEG lossless precision of 14 bits does not fit 8-bit decoding (Bits Allocated 8)" },
        { "gdcm-jpeg-lossless-precision-7.bin", "the JPEG lossless precision of 7 bits does not fit 8-bit decoding (Bits Allocated 8)" },
        { "gdcm-planar-configuration-twice.bin", "(0028,0006) occurs twice" },
        { "gdcm-rle-no-bits-allocated-meta-out-of-place-1.bin", "RLE with no Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-no-bits-allocated-meta-out-of-place-2.bin", "RLE with no Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-no-bits-allocated-meta-out-of-place-3.bin", "RLE with no Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-bits-allocated-0-meta-out-of-place-1.bin", "RLE with 0 Bits Allocated, not 8, 16 or 32" },
        { "gdcm-rle-bits-allocated-0-meta-out-of-place-2.bin", "RLE with 0 Bits Allocated, not 8, 16 or 32" },
        { "gdcm-jpeg-without-columns.bin", "Pixel Data without Rows or Columns" },
        { "gdcm-jpeg-without-rows.bin", "Pixel Data without Rows or Columns" },
        { "gdcm-no-bits-allocated.bin", "Pixel Data without Bits Allocated" },
        { "gdcm-signed-single-bit.bin", "signed samples of 1 bits" },
        { "gdcm-12-bits-allocated-16-bytes.bin", "12-bit packed Pixel Data of 16 bytes, not a multiple of 3" },
        { "gdcm-pixel-data-shorter-than-image.bin", "Pixel Data holds 16 bytes, the image needs 522256" },
    };

    [Fact]
    public void Read_MetaGroupOutOfPlace_TransferSyntaxStillTakenFromIt()
    {
        // Meta elements after a (000E,0000) are data set elements to the walk; GDCM still honours their (0002,0010).
        byte[] dataSet =
        [
            .. Element(0x000E, 0x0000, "UL", [4, 0, 0, 0]), .. Element(0x0002, 0x0010, "UI", Encoding.ASCII.GetBytes(JpegLossless)),
            .. ImageAttributes(1, 8, 8), .. Header(0x7FE0, 0x0010, "OB", 0xFFFF_FFFF), .. Encapsulated(Jpeg(Sof(0xC3, 8, 1), [0x13])),
        ];
        var path = temp.Combine("out-of-place.dcm");
        File.WriteAllBytes(path, [.. new byte[128], .. "DICM"u8, .. dataSet]);

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(path));

        Assert.Equal("DICOM file cannot be decoded safely (the JPEG header has bytes that are not a marker between its segments).", error.Message);
    }

    [Fact]
    public void Read_PixelAttributeTwice_Refused()
    {
        byte[] dataSet = [.. ImageAttributes(1, 8, 8), .. Element(0x0028, 0x0101, "US", UShort(8)), .. Element(0x7FE0, 0x0010, "OB", new byte[6])];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile(ExplicitLittle, dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely ((0028,0101) occurs twice).", error.Message);
    }

    [Fact]
    public void Read_FuzzFindingBigEndianCutShort_RefusedAsMalformed()
    {
        // Explicit VR Big Endian used to be left to GDCM unwalked; it asserted on this one's broken element header.
        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(Regression("gdcm-big-endian-cut-short.bin")));

        Assert.StartsWith("DICOM data set is malformed (", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BigEndianFileWithSevenBitsStoredInEight_RefusedWithBigEndianValues()
    {
        // The attributes are read in the data set's byte order: 8 and 7 here, 2048 and 1792 if read little-endian.
        byte[] dataSet =
        [
            .. BigEndianUShort(0x0028, 0x0002, 1), .. BigEndianUShort(0x0028, 0x0010, 2), .. BigEndianUShort(0x0028, 0x0011, 3),
            .. BigEndianUShort(0x0028, 0x0100, 8), .. BigEndianUShort(0x0028, 0x0101, 7),
            0x7F, 0xE0, 0x00, 0x10, (byte)'O', (byte)'B', 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0,
        ];

        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(WriteFile("1.2.840.10008.1.2.2", dataSet)));

        Assert.Equal("DICOM file cannot be decoded safely (Bits Stored is 7 with 8 Bits Allocated).", error.Message);
    }

    // Each of these made GDCM abort the process before the pre-check; each must now be refused for its own reason.
    [Theory]
    [MemberData(nameof(FixedFindings))]
    public void Read_FuzzFindingThatAbortedGdcm_RefusedWithItsReason(string file, string reason)
    {
        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(Regression(file)));

        Assert.Equal($"DICOM file cannot be decoded safely ({reason}).", error.Message);
    }

    [Fact]
    public void Read_FuzzFindingMetaWithoutDataSet_Refused()
    {
        var error = Assert.Throws<ImageReadException>(() => DicomFileReader.Read(Regression("gdcm-meta-without-data-set.bin")));

        Assert.Equal("DICOM file has meta information but no data set.", error.Message);
    }

    public static TheoryData<string> AcceptedFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Repo.SharedDicom, "*.dcm", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(file);
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures"), "*.dcm").Where(f => !f.EndsWith("not-dicom.dcm", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            data.Add(file);
        }

        return data;
    }

    // Every shared DICOM file and every test image must still reach GDCM and decode.
    [Theory]
    [MemberData(nameof(AcceptedFiles))]
    public void Read_SharedAndFixtureImages_StillDecoded(string path)
    {
        var image = DicomFileReader.Read(path);

        Assert.True(image.Pixels.Width > 0 && image.Pixels.Height > 0);
    }

    // ---- builders -------------------------------------------------------------------------------------------------

    /// <summary>A 64-byte RLE header for the segments given, then the segments.</summary>
    private static byte[] RleFrame(byte[][] segments)
    {
        var header = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(header, segments.Length);
        var offset = 64;
        for (var i = 0; i < segments.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4 + (4 * i)), offset);
            offset += segments[i].Length;
        }

        return [.. header, .. segments.SelectMany(s => s)];
    }

    private static string Regression(string name) => Path.Combine(Repo.Root, "tests", "Edge.Fuzz", "Regressions", "intake", name);

    private string WriteFile(string transferSyntax, byte[] dataSet)
    {
        var path = temp.Combine($"{Guid.NewGuid():N}.dcm");
        File.WriteAllBytes(path, [.. Part10.FileMetaInformationBytes("1.2.840.10008.5.1.4.1.1.7", "1.2.3", transferSyntax, "TEST"), .. dataSet]);
        return path;
    }

    /// <summary>A 3 x 2 MONOCHROME2 image's attributes (Explicit VR Little Endian).</summary>
    private static byte[] ImageAttributes(ushort samples, ushort bitsAllocated, ushort bitsStored) =>
    [
        .. Element(0x0028, 0x0002, "US", UShort(samples)),
        .. Element(0x0028, 0x0004, "CS", Encoding.ASCII.GetBytes(samples == 1 ? "MONOCHROME2 " : "RGB ")),
        .. Element(0x0028, 0x0010, "US", UShort(2)),
        .. Element(0x0028, 0x0011, "US", UShort(3)),
        .. Element(0x0028, 0x0100, "US", UShort(bitsAllocated)),
        .. Element(0x0028, 0x0101, "US", UShort(bitsStored)),
        .. Element(0x0028, 0x0102, "US", UShort((ushort)(bitsStored - 1))),
        .. Element(0x0028, 0x0103, "US", UShort(0)),
    ];

    /// <summary>An empty Basic Offset Table, one fragment, the sequence delimiter.</summary>
    private static byte[] Encapsulated(byte[] fragment)
    {
        var padded = fragment.Length % 2 == 0 ? fragment : [.. fragment, 0];
        return [.. Item(0), .. Item((uint)padded.Length), .. padded, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
    }

    private static byte[] Item(uint length)
    {
        var item = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(item, 0xE000_FFFE);
        BinaryPrimitives.WriteUInt32LittleEndian(item.AsSpan(4), length);
        return item;
    }

    private static byte[] Element(ushort group, ushort element, string vr, byte[] value) => [.. Header(group, element, vr, (uint)value.Length), .. value];

    private static byte[] Header(ushort group, ushort element, string vr, uint length)
    {
        var longForm = DataSetWalker.HasLongLength(vr);
        var header = new byte[longForm ? 12 : 8];
        BinaryPrimitives.WriteUInt16LittleEndian(header, group);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), element);
        header[4] = (byte)vr[0];
        header[5] = (byte)vr[1];
        if (longForm)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), length);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), (ushort)length);
        }

        return header;
    }

    private static byte[] BigEndianUShort(ushort group, ushort element, ushort value) =>
        [(byte)(group >> 8), (byte)group, (byte)(element >> 8), (byte)element, (byte)'U', (byte)'S', 0, 2, (byte)(value >> 8), (byte)value];

    private static byte[] UShort(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return bytes;
    }

    /// <summary>SOI, the given segments, an optional stray tail before the SOS, then an SOS for one component.</summary>
    private static byte[] Jpeg(byte[] segments, byte[]? beforeScan = null) =>
        [0xFF, 0xD8, .. segments, .. beforeScan ?? [], .. Segment(0xDA, [1, 1, 0x00, 1, 0, 0])];

    /// <summary>A frame header for 2 rows x 3 columns with <paramref name="components"/> components (ids 1..n, no subsampling).</summary>
    private static byte[] Sof(byte marker, byte precision, byte components)
    {
        var body = new List<byte> { precision, 0, 2, 0, 3, components };
        for (var i = 1; i <= components; i++)
        {
            body.AddRange([(byte)i, 0x11, 0]);
        }

        return Segment(marker, [.. body]);
    }

    private static byte[] Segment(byte marker, byte[] body)
    {
        var length = body.Length + 2;
        return [0xFF, marker, (byte)(length >> 8), (byte)length, .. body];
    }
}
