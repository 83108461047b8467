using System.Buffers.Binary;
using System.Text;
using Edge.Dicom.Results;
using Edge.Imaging;

namespace Edge.Dicom.Tests.Results;

/// <summary>The pieces without validators: UIDs, the encoder's byte rules, the font and the burned-in band.</summary>
public class ResultPartsTests
{
    [Fact]
    public void From_SameNames_SameValid2_25Uid()
    {
        var uid = ResultUids.From("sr-instance", "01JQ", "1.2.3");

        Assert.Equal(uid, ResultUids.From("sr-instance", "01JQ", "1.2.3"));
        Assert.StartsWith("2.25.", uid, StringComparison.Ordinal);
        Assert.True(SourceStudy.IsUid(uid), uid);
    }

    [Fact]
    public void From_PartsSplitDifferently_DifferentUids()
    {
        Assert.NotEqual(ResultUids.From("ab", "c"), ResultUids.From("a", "bc"));
    }

    [Theory]
    [InlineData("1.2.840.10008.1.2.1", true)]
    [InlineData("2.25.0", true)]
    [InlineData("1.02.3", false)]
    [InlineData("1..2", false)]
    [InlineData("1.2.", false)]
    [InlineData("d14a028c", false)]
    public void IsUid_Table(string value, bool expected) => Assert.Equal(expected, SourceStudy.IsUid(value));

    [Fact]
    public void Encode_OddLengths_PaddedPerVr()
    {
        var ds = new DicomDataSet()
            .Text(0x0008_0018, "UI", "1.2.3")
            .Text(0x0010_0010, "PN", "Doe")
            .Binary(0x7FE0_0010, "OB", [1, 2, 3]);

        var bytes = ExplicitVrLittleEndian.Encode(ds, Encoding.ASCII);

        // UI: 8 header bytes, "1.2.3\0"; PN: "Doe "; OB: 12 header bytes, 1 2 3 0.
        Assert.Equal(6, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6)));
        Assert.Equal((byte)0, bytes[8 + 5]);
        Assert.Equal("Doe ", Encoding.ASCII.GetString(bytes, 14 + 8, 4));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(26 + 8)));
        Assert.Equal(26 + 12 + 4, bytes.Length);
    }

    [Fact]
    public void Encode_ElementsAddedOutOfOrder_WrittenInTagOrder()
    {
        var ds = new DicomDataSet().Text(0x0020_000D, "UI", "1.2").Text(0x0008_0016, "UI", "1.2");

        var bytes = ExplicitVrLittleEndian.Encode(ds, Encoding.ASCII);

        Assert.Equal(0x0008, BinaryPrimitives.ReadUInt16LittleEndian(bytes));
    }

    [Fact]
    public void NeedsUnicode_NonAsciiInsideSequence_True()
    {
        var ds = new DicomDataSet().Sequence(0x0040_A730, new DicomDataSet().Text(0x0040_A160, "UT", "诊断"));

        Assert.True(ds.NeedsUnicode());
        Assert.False(new DicomDataSet().Text(0x0010_0010, "PN", "Doe^John").NeedsUnicode());
    }

    [Fact]
    public void BitmapFont_EveryPrintableAscii_HasAGlyph()
    {
        Assert.Equal(95, BitmapFont.GlyphCount);
        for (var c = '!'; c <= '~'; c++)
        {
            var set = Enumerable.Range(0, BitmapFont.GlyphWidth).Any(x => Enumerable.Range(0, BitmapFont.GlyphHeight).Any(y => BitmapFont.IsSet(c, x, y)));
            Assert.True(set, $"'{c}' draws nothing");
        }
    }

    [Fact]
    public void BurnIn_Overlay_KeptAboveTextBand()
    {
        var overlay = new RgbImage(600, 400, Enumerable.Repeat((byte)77, 600 * 400 * 3).ToArray());

        var burned = SecondaryCapture.BurnIn(overlay, ["REFER FOR TB TEST", "AI triage aid, not a diagnosis."], emphasiseFirstLine: true);

        Assert.Equal(600, burned.Width);
        Assert.True(burned.Height > 400);
        Assert.All(burned.Pixels.Take(600 * 400 * 3), b => Assert.Equal(77, b));
        var band = burned.Pixels.Skip(600 * 400 * 3).ToArray();
        Assert.Contains((byte)255, band);
        Assert.Contains((byte)176, band); // amber decision line
    }

    [Fact]
    public void BurnIn_NarrowImage_LinesClippedNotThrown()
    {
        var overlay = new RgbImage(40, 40, new byte[40 * 40 * 3]);

        var burned = SecondaryCapture.BurnIn(overlay, ["a line far wider than forty pixels"], emphasiseFirstLine: false);

        Assert.Equal(40, burned.Width);
    }
}
