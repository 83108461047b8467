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
    public async Task FileSlipPrinter_Print_WritesBytesAndTextAndReprintsTheLast()
    {
        using var temp = new TempDirectory();
        using var printer = new FileSlipPrinter(temp.Path);
        var slip = Scenario("no-refer");

        Assert.False(await printer.ReprintLastAsync(CancellationToken.None));
        await printer.PrintAsync(slip, CancellationToken.None);
        File.Delete(temp.Combine(ResultId + ".escpos"));
        Assert.True(await printer.ReprintLastAsync(CancellationToken.None));

        Assert.Equal(EscPos.Encode(slip), File.ReadAllBytes(temp.Combine(ResultId + ".escpos")));
        Assert.Equal(slip.Lines, File.ReadAllLines(temp.Combine(ResultId + ".txt")));
    }

    [Fact]
    public async Task EscPosPrinter_Print_WritesTheEncodedSlipToTheStream()
    {
        using var stream = new MemoryStream();
        var slip = Scenario("rejected");
        var printer = new EscPosPrinter(stream);

        await printer.PrintAsync(slip, CancellationToken.None);

        Assert.Equal(EscPos.Encode(slip), stream.ToArray());
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
