using System.Text;
using Edge.Domain;
using Edge.TestSupport;

namespace Edge.Hardware.Tests;

public sealed class EscPosTests
{
    private static readonly SlipSettings Settings = new("Demo Clinic", TimeZoneInfo.Utc);

    /// <summary>Golden slips: any change to layout or commands shows up as a byte diff. Set EDGE_UPDATE_GOLDEN=1 to rewrite them after a deliberate change.</summary>
    [Theory]
    [InlineData("refer")]
    [InlineData("no-refer")]
    [InlineData("rejected")]
    [InlineData("refer-zh")]
    [InlineData("refer-thumbnail")]
    public void Encode_Scenario_MatchesGoldenBytes(string scenario)
    {
        var bytes = EscPos.Encode(Scenario(scenario));
        var golden = Path.Combine(Repo.Root, "tests", "Edge.Hardware.Tests", "Golden", scenario + ".escpos");
        if (Environment.GetEnvironmentVariable("EDGE_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllBytes(golden, bytes);
        }

        Assert.Equal(File.ReadAllBytes(golden), bytes);
    }

    [Fact]
    public void Encode_Refer_InitialisesInvertsHeadlinePrintsQrAndCuts()
    {
        var bytes = EscPos.Encode(Scenario("refer"));

        Assert.Equal(new byte[] { 0x1B, 0x40 }, bytes[..2]);
        Assert.True(Contains(bytes, [0x1D, 0x42, 1, .. "REFER TB TEST"u8]));
        Assert.True(Contains(bytes, EscPos.QrCode(ResultId)));
        Assert.True(Contains(bytes, [0x1D, 0x76, 0x30, 0, 48, 0, 24, 0]));
        Assert.Equal(new byte[] { 0x1D, 0x56, 66, 0 }, bytes[^4..]);
    }

    [Fact]
    public void QrCode_ResultId_StoresLengthPlusThreeLittleEndian()
    {
        var qr = EscPos.QrCode(ResultId);

        Assert.Equal(new byte[] { 0x1D, 0x28, 0x6B, (byte)(ResultId.Length + 3), 0, 49, 80, 48 }, qr[25..33]);
        Assert.Equal(new byte[] { 0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48 }, qr[^8..]);
    }

    [Fact]
    public void Encode_Chinese_ChineseModeAndGb18030Text()
    {
        var bytes = EscPos.Encode(Scenario("refer-zh"));

        Assert.Equal(new byte[] { 0x1B, 0x40, 0x1C, 0x26 }, bytes[..4]);
        Assert.True(Contains(bytes, EscPos.Gb18030.GetBytes("建议查痰")));
        Assert.True(Contains(bytes, [0xBD, 0xA8, 0xD2, 0xE9, 0xB2, 0xE9, 0xCC, 0xB5]));
    }

    [Theory]
    [InlineData(0.72, 0.40)]
    [InlineData(0.10, 0.40)]
    public void ScoreBarDots_ScoreAndThreshold_FilledToTheScoreWithATickAtTheThreshold(double score, double threshold)
    {
        var dots = EscPos.ScoreBarDots(new SlipBlock.ScoreBar(score, threshold));
        var middle = 12;
        var fillEnd = 8 + (int)Math.Round(score * (EscPos.PaperDots - 16));
        var mark = 8 + (int)Math.Round(threshold * (EscPos.PaperDots - 16));

        Assert.True(dots[0, mark]);
        Assert.True(dots[middle, Math.Min(fillEnd, mark) - 3]);
        Assert.False(dots[middle, Math.Max(fillEnd, mark) + 3]);
        Assert.Equal(mark > fillEnd, dots[middle, mark]);
    }

    [Fact]
    public void Encode_ReferWithThumbnail_CentredRasterOfThePictureDots()
    {
        var slip = Scenario("refer-thumbnail");
        var picture = (SlipBlock.Picture)slip.Blocks.Single(b => b is SlipBlock.Picture);
        var bytes = EscPos.Encode(slip);
        var rowBytes = (picture.Width + 7) / 8;

        byte[] header = [0x1B, 0x61, 1, 0x1D, 0x76, 0x30, 0, (byte)rowBytes, 0, (byte)picture.Height, (byte)(picture.Height >> 8)];
        var at = bytes.AsSpan().IndexOf(header);

        Assert.True(at > 0);
        var dots = EscPos.PictureDots(picture);
        var raster = bytes.AsSpan(at + 11, rowBytes * picture.Height);
        for (var y = 0; y < picture.Height; y += 17)
        {
            for (var x = 0; x < picture.Width; x += 13)
            {
                Assert.Equal(dots[y, x], (raster[(y * rowBytes) + (x / 8)] & (0x80 >> (x % 8))) != 0);
            }
        }

        Assert.Contains("Left: image | Right: AI focus", slip.Lines.Select(l => l.Trim()));
    }

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(255, 0.0)]
    [InlineData(128, 0.5)]
    public void PictureDots_UniformGray_InkInProportion(byte gray, double ink)
    {
        var picture = new SlipBlock.Picture(64, 64, Enumerable.Repeat(gray, 64 * 64).ToArray());

        var dots = EscPos.PictureDots(picture);

        Assert.InRange(dots.Cast<bool>().Count(d => d) / (64.0 * 64.0), ink - 0.02, ink + 0.02);
    }

    [Fact]
    public void PictureDots_WiderThanThePaper_Throws()
    {
        Assert.Throws<ArgumentException>(() => EscPos.PictureDots(new SlipBlock.Picture(400, 1, new byte[400])));
    }

    [Fact]
    public void Thumbnail_HeatInTheUpperLeft_DarkerThereOnTheRightPanelOnly()
    {
        var picture = Slips.Thumbnail();
        var panel = (int)Math.Round(200 * SlipThumbnail.PanelSide / 240.0);
        double Mean(int left, int top) => Enumerable.Range(top, 20).SelectMany(y => Enumerable.Range(left, 20).Select(x => (double)picture.Gray[(y * picture.Width) + x])).Average();

        var gap = picture.Width - (2 * panel);
        var hot = Mean(panel + gap + 25, 45);
        var cold = Mean(panel + gap + 120, 150);

        Assert.InRange(gap, 8, 32);
        Assert.Equal(SlipThumbnail.PanelSide, picture.Height);
        Assert.InRange(Mean(25, 45), 0, 120);
        Assert.True(hot < cold - 60, $"hot {hot:0} vs cold {cold:0}");
    }

    [Theory]
    [InlineData(0x12, 0x12, 0x12, 0x12, "ready")]
    [InlineData(0x1A, 0x32, 0x12, 0x72, "printer-out-of-paper")]
    [InlineData(0x12, 0x12, 0x12, 0x1E, "printer-paper-low")]
    [InlineData(0x1A, 0x16, 0x12, 0x12, "printer-cover-open")]
    [InlineData(0x1A, 0x12, 0x12, 0x12, "printer-offline")]
    [InlineData(0x1A, 0x52, 0x1A, 0x12, "printer-offline (error)")]
    public void DecodeStatus_DleEotAnswers_Conditions(byte printer, byte offline, byte error, byte paper, string expected)
    {
        var status = EscPosStatus.Decode(printer, offline, error, paper);

        Assert.Equal(expected, status.Describe());
        Assert.Equal(expected is "ready" or "printer-paper-low", status.CanPrint);
        var answers = EscPosStatus.Encode(status);
        Assert.Equal(status, EscPosStatus.Decode(answers[0], answers[1], answers[2], answers[3]));
    }

    [Theory]
    [InlineData(0x12, true)]
    [InlineData(0x7E, true)]
    [InlineData(0x13, false)]
    [InlineData(0x92, false)]
    [InlineData(0x02, false)]
    public void IsStatusByte_FixedBits_Recognised(byte value, bool expected) => Assert.Equal(expected, EscPosStatus.IsStatusByte(value));

    [Fact]
    public async Task SubmitAsync_SimulatedPrinter_WritesBytesTextAndPreviewAndReprints()
    {
        using var temp = new TempDirectory();
        using var store = Edge.Storage.ScreeningStore.Open(temp.Combine("edge.db"));
        var probe = new ConsoleProbe();
        var slips = temp.Combine("slips");
        await using var queue = new SlipPrintQueue(store, new FolderPrinterLink(slips), probe.ApplyAsync, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, new SlipPrintQueueOptions { PreviewDirectory = slips });
        var slip = Scenario("no-refer");

        Assert.False(await queue.ReprintLastAsync(CancellationToken.None));
        Assert.True((await queue.SubmitAsync(slip, CancellationToken.None)).AllPrinted);
        File.Delete(Path.Combine(slips, ResultId + ".escpos"));
        Assert.True(await queue.ReprintLastAsync(CancellationToken.None));

        Assert.Equal(EscPos.Encode(slip), File.ReadAllBytes(Path.Combine(slips, ResultId + ".escpos")));
        Assert.Equal(slip.Lines, File.ReadAllLines(Path.Combine(slips, ResultId + ".txt")));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(slips, ResultId + ".png"))[..4]);
    }

    [Fact]
    public async Task SubmitAsync_SimulatedPrinterOutOfPaper_KeptUntilWakeAfterPaperIsBack()
    {
        using var temp = new TempDirectory();
        using var store = Edge.Storage.ScreeningStore.Open(temp.Combine("edge.db"));
        var probe = new ConsoleProbe();
        var link = new FolderPrinterLink(temp.Path) { Status = PrinterStatus.Ready with { PaperOut = true } };
        await using var queue = new SlipPrintQueue(store, link, probe.ApplyAsync, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, new SlipPrintQueueOptions { RetryInterval = TimeSpan.FromHours(1) });

        var held = await queue.SubmitAsync(Scenario("refer"), CancellationToken.None);
        Assert.True(await queue.ReprintAsync(ResultId, CancellationToken.None));
        queue.Start();
        link.Status = PrinterStatus.Ready;
        queue.Wake();
        await probe.WaitForAsync(s => s.Attentions.IsEmpty);

        Assert.Equal((0, 1), (held.Printed, held.Pending));
        Assert.Equal(0, store.CountPrintJobsPending());
        Assert.Single(store.Audit(ResultId), a => a.Action == "slip-printed");
        Assert.DoesNotContain(store.Audit(ResultId), a => a.Action == "reprint-requested");
        Assert.True(File.Exists(temp.Combine(ResultId + ".escpos")));
    }

    private const string ResultId = "20260301T080000Z-0000000000abcd";

    private static Slip Scenario(string name) => name switch
    {
        "refer" => SlipComposer.Compose(Result(0.72, Referral.Refer), Settings),
        "no-refer" => SlipComposer.Compose(Result(0.12, Referral.NoRefer), Settings),
        "rejected" => SlipComposer.Compose(Result(null, null) with
        {
            Status = ScreeningStatus.Rejected,
            Qc = QcReport.Of([new QcFinding("body-part-not-chest", QcVerdict.Reject, "Body part is HIP, not chest, so this image was not screened.")]),
        }, Settings),
        "refer-zh" => SlipComposer.Compose(Result(0.72, Referral.Refer), Settings with { Language = SlipLanguage.Chinese }),
        "refer-thumbnail" => SlipComposer.Compose(Result(0.72, Referral.Refer), Settings, Slips.Thumbnail()),
        _ => throw new ArgumentException(name),
    };

    private static ScreeningResult Result(double? p, Referral? referral) => new()
    {
        Id = ResultId,
        OriginalName = "x.dcm",
        Source = IntakeSource.DicomStore,
        ReceivedAt = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero),
        ScreenedAt = new DateTimeOffset(2026, 3, 1, 8, 0, 4, TimeSpan.Zero),
        Status = ScreeningStatus.Screened,
        Probability = p,
        Decision = referral is { } r ? new Decision(r, 0.40, ThresholdSource.Bundle) : null,
        Model = new ModelIdentity("tb-cxr", "1.0.0", new string('a', 64)),
        Qc = QcReport.Of([]),
    };

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
