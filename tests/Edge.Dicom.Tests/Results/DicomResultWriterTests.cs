using Edge.Dicom.Results;
using Edge.Domain;
using Edge.TestSupport;
using Xunit.Abstractions;

namespace Edge.Dicom.Tests.Results;

/// <summary>SR and SC for every shared chest file, checked by dciodvfy and DCMTK, and read back through our own reader.</summary>
public class DicomResultWriterTests(ITestOutputHelper output)
{
    public static TheoryData<string> ChestSamples() => [.. Repo.ChestDicomSamples.Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [MemberData(nameof(ChestSamples))]
    public async Task WriteAsync_ChestSample_BothObjectsPassDciodvfy(string file)
    {
        var source = Path.Combine(Repo.SharedDicom, file);
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        foreach (var path in new[] { files.StructuredReportPath, files.SecondaryCapturePath })
        {
            var (errors, warnings) = await ResultObjects.ValidateAsync(path);
            foreach (var warning in warnings)
            {
                output.WriteLine($"{Path.GetFileName(path)}: {warning}");
            }

            Assert.True(errors.Count == 0, $"{file} -> {Path.GetFileName(path)}:\n" + string.Join('\n', errors));
        }
    }

    [Theory]
    [MemberData(nameof(ChestSamples))]
    public async Task WriteAsync_ChestSample_JoinedToSourceStudyAndImage(string file)
    {
        var source = Path.Combine(Repo.SharedDicom, file);
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        var sourceStudy = Assert.Single(await ResultObjects.DumpValuesAsync(source, "0020,000d"));
        var sourceInstance = Assert.Single(await ResultObjects.DumpValuesAsync(source, "0008,0018"));
        Assert.Equal(sourceStudy, files.StudyInstanceUid);
        foreach (var path in new[] { files.StructuredReportPath, files.SecondaryCapturePath })
        {
            Assert.All(await ResultObjects.DumpValuesAsync(path, "0020,000d"), study => Assert.Equal(sourceStudy, study));
        }

        // Evidence sequence, image library and source of measurement: every reference in the SR names the screened image.
        var srReferences = await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,1155");
        Assert.Equal(3, srReferences.Count);
        Assert.All(srReferences, uid => Assert.Equal(sourceInstance, uid));
        Assert.All(await ResultObjects.DumpValuesAsync(files.SecondaryCapturePath, "0008,1155"), uid => Assert.Equal(sourceInstance, uid));
        Assert.Equal([files.StructuredReportSopInstanceUid], await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0018"));
        Assert.Equal([files.SecondaryCaptureSopInstanceUid], await ResultObjects.DumpValuesAsync(files.SecondaryCapturePath, "0008,0018"));
    }

    [Theory]
    [MemberData(nameof(ChestSamples))]
    public async Task WriteAsync_ChestSample_SecondaryCaptureReadsBackAsOverlayPlusBand(string file)
    {
        var source = Path.Combine(Repo.SharedDicom, file);
        var overlay = ResultObjects.Overlay(source);
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), overlay, temp.Path, CancellationToken.None);

        var image = DicomFileReader.Read(files.SecondaryCapturePath);
        Assert.Equal("RGB", image.Header.Photometric);
        Assert.Equal(overlay.Width, image.Pixels.Width);
        Assert.True(image.Pixels.Height > overlay.Height, "the text band is added below the image");

        // Luma of the first overlay pixel survives the round trip: interleaved RGB read as written.
        var p = overlay.Pixels;
        Assert.Equal((0.299f * p[0]) + (0.587f * p[1]) + (0.114f * p[2]), image.Pixels.Pixels[0], 0.01f);
    }

    [Fact]
    public async Task WriteAsync_SimplifiedChinese_SrDeclaresUtf8AndPassesDciodvfy()
    {
        var source = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options(DicomResultOptions.SimplifiedChinese)).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        var (errors, warnings) = await ResultObjects.ValidateAsync(files.StructuredReportPath);
        warnings.ToList().ForEach(w => output.WriteLine(w));
        Assert.True(errors.Count == 0, string.Join('\n', errors));
        Assert.Equal(["ISO_IR 192"], await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0005"));
        var texts = await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0040,a160");
        Assert.Contains("人工智能分诊辅助工具，并非诊断。", texts);
        Assert.Contains(ResultText.EnglishIntendedUse, texts);

        // The SC's text is burned in English; its header stays plain ASCII.
        Assert.Empty(await ResultObjects.DumpValuesAsync(files.SecondaryCapturePath, "0008,0005"));
    }

    [Fact]
    public async Task WriteAsync_EnglishAsciiSource_NoSpecificCharacterSet()
    {
        var source = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        Assert.Empty(await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0005"));
    }

    [Fact]
    public async Task WriteAsync_SourceNameNotAscii_CopiedAsUtf8()
    {
        // Its Patient Name has non-ASCII bytes and no Specific Character Set: read as Latin-1, written as UTF-8.
        var source = Path.Combine(Repo.SharedDicom, "JPEG2KLossless_1s_1f_u_16_16.dcm");
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        Assert.Equal(["ISO_IR 192"], await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0005"));
        var name = Assert.Single(await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0010,0010"));
        Assert.Equal(DicomFileReader.Read(source).Identity.PatientName, name);
    }

    [Fact]
    public async Task WriteAsync_SourceValuesInvalidForTheirVr_WrittenEmpty()
    {
        // 966_fixed carries 56-character hashes as Patient's Birth Date (DA) and Accession Number (SH, 16 at most).
        var source = Path.Combine(Repo.SharedDicom, "966_fixed.dcm");
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        Assert.Empty(await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0010,0030"));
        Assert.Empty(await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0050"));
        Assert.Equal(["2010101610-1"], await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0010,0020"));
    }

    [Fact]
    public async Task WriteAsync_SameResultTwice_SameUidsAndBytes()
    {
        var source = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        var overlay = ResultObjects.Overlay(source);
        using var temp = new TempDirectory("edge-results");
        var writer = new DicomResultWriter(ResultObjects.Options());

        var first = await writer.WriteAsync(source, ResultObjects.Report(), overlay, temp.Path, CancellationToken.None);
        var firstBytes = await File.ReadAllBytesAsync(first.StructuredReportPath);
        var second = await writer.WriteAsync(source, ResultObjects.Report(), overlay, temp.Path, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(firstBytes, await File.ReadAllBytesAsync(second.StructuredReportPath));
        Assert.Equal(2, Directory.GetFiles(temp.Path).Length);
    }

    [Fact]
    public async Task WriteAsync_TwoImagesOfOneStudy_OneSeriesPerKind()
    {
        var source = Path.Combine(Repo.SharedDicom, "RG1_J2KI.dcm");
        var overlay = ResultObjects.Overlay(source);
        using var temp = new TempDirectory("edge-results");
        var writer = new DicomResultWriter(ResultObjects.Options());

        var a = await writer.WriteAsync(source, ResultObjects.Report(resultId: "a"), overlay, temp.Path, CancellationToken.None);
        var b = await writer.WriteAsync(source, ResultObjects.Report(resultId: "b"), overlay, temp.Path, CancellationToken.None);

        Assert.NotEqual(a.StructuredReportSopInstanceUid, b.StructuredReportSopInstanceUid);
        var seriesA = await ResultObjects.DumpValuesAsync(a.StructuredReportPath, "0020,000e");
        var seriesB = await ResultObjects.DumpValuesAsync(b.StructuredReportPath, "0020,000e");
        Assert.Equal(seriesA[0], seriesB[0]);
        Assert.NotEqual(seriesA[0], (await ResultObjects.DumpValuesAsync(a.SecondaryCapturePath, "0020,000e"))[0]);
    }

    [Fact]
    public async Task WriteAsync_NoReferral_DecisionCodedAsNoReferral()
    {
        var source = Path.Combine(Repo.SharedDicom, "CR-MONO1-10-chest.dcm");
        using var temp = new TempDirectory("edge-results");

        var files = await new DicomResultWriter(ResultObjects.Options()).WriteAsync(source, ResultObjects.Report(Referral.NoRefer), ResultObjects.Overlay(source), temp.Path, CancellationToken.None);

        var codes = await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0008,0100");
        Assert.Contains("EDGE-0004", codes);
        Assert.DoesNotContain("EDGE-0003", codes);
        Assert.Contains("12.04", await ResultObjects.DumpValuesAsync(files.StructuredReportPath, "0040,a30a"));
    }

    [Fact]
    public async Task WriteAsync_SourceNotDicom_ThrowsDicomResultException()
    {
        using var temp = new TempDirectory("edge-results");
        var notDicom = temp.Combine("photo.png");
        await File.WriteAllBytesAsync(notDicom, [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0]);
        var overlay = new Edge.Imaging.RgbImage(4, 4, new byte[48]);

        await Assert.ThrowsAsync<DicomResultException>(async () =>
            await new DicomResultWriter(ResultObjects.Options()).WriteAsync(notDicom, ResultObjects.Report(), overlay, temp.Path, CancellationToken.None));
    }

    [Fact]
    public void Constructor_InvalidOptions_ListsEveryProblem()
    {
        var options = new DicomResultOptions { Language = "fr", SiteId = "", DeviceId = "" };

        var ex = Assert.Throws<ArgumentException>(() => new DicomResultWriter(options));

        Assert.Contains(nameof(DicomResultOptions.Language), ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(DicomResultOptions.SiteId), ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(DicomResultOptions.DeviceId), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_RejectedResult_Null()
    {
        var result = new ScreeningResult
        {
            Id = "r1",
            OriginalName = "x.dcm",
            Source = IntakeSource.DicomStore,
            ReceivedAt = ResultObjects.ScreenedAt,
            ScreenedAt = ResultObjects.ScreenedAt,
            Status = ScreeningStatus.Rejected,
            Qc = QcReport.NotChecked,
        };

        Assert.Null(ScreeningReport.From(result));
    }
}
