using Edge.Domain;

namespace Edge.Imaging.Tests;

public class PngDecoderTests
{
    public static TheoryData<string, int, string> IndependentFixtures()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var suffix in new[] { string.Empty, "_adam7" })
        {
            foreach (var depth in new[] { 1, 2, 4, 8, 16 })
            {
                data.Add($"gray{depth}{suffix}.png", depth == 16 ? 16 : 8, "MONOCHROME2");
            }

            foreach (var depth in new[] { 8, 16 })
            {
                data.Add($"graya{depth}{suffix}.png", depth, "MONOCHROME2");
                data.Add($"rgb{depth}{suffix}.png", depth, "RGB");
                data.Add($"rgba{depth}{suffix}.png", depth, "RGB");
            }

            foreach (var depth in new[] { 1, 2, 4, 8 })
            {
                data.Add($"palette{depth}{suffix}.png", 8, "RGB");
            }
        }

        data.Add("pil_l.png", 8, "MONOCHROME2");
        data.Add("pil_rgb.png", 8, "RGB");
        data.Add("pil_rgba.png", 8, "RGB");
        data.Add("pil_p.png", 8, "RGB");
        data.Add("pil_i16.png", 16, "MONOCHROME2");
        return data;
    }

    [Theory]
    [MemberData(nameof(IndependentFixtures))]
    public void Decode_IndependentlyEncodedFixture_MatchesExpectedGray(string name, int bitsStored, string photometric)
    {
        var image = PngDecoder.Decode(File.ReadAllBytes(TestData.Fixture(name)));
        var (width, height, expected) = TestData.Expected(name);

        Assert.Equal(ImageFormat.Png, image.Header.Format);
        Assert.Equal(bitsStored, image.Header.BitsStored);
        Assert.Equal(photometric, image.Header.Photometric);
        Assert.Same(PatientIdentity.None, image.Identity);
        Assert.Equal((width, height), (image.Pixels.Width, image.Pixels.Height));
        var tolerance = bitsStored == 16 ? 0.02f : 0.001f;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - image.Pixels.Pixels[i]) <= tolerance, $"{name} pixel {i}: expected {expected[i]}, got {image.Pixels.Pixels[i]}");
        }
    }

    // Checksums from PIL: a = np.array(Image.open(f)).astype(np.int64).ravel(); (a.sum(), (a * np.arange(1, a.size + 1)).sum())
    [Theory]
    [InlineData("CHNCXR_0001_0.png", 2797816L, 24024223769L)]
    [InlineData("CHNCXR_0002_0.png", 2566840L, 22828589001L)]
    [InlineData("CHNCXR_0003_0.png", 2627249L, 21873211424L)]
    public void Decode_ShenzhenImage_MatchesPilChecksum(string name, long expectedSum, long expectedWeightedSum)
    {
        var image = PngDecoder.Decode(File.ReadAllBytes(TestData.SharedData("shenzhen-128", "images", name)));

        Assert.Equal((128, 128), (image.Pixels.Width, image.Pixels.Height));
        long sum = 0, weighted = 0;
        for (var i = 0; i < image.Pixels.Pixels.Length; i++)
        {
            var value = (long)image.Pixels.Pixels[i];
            sum += value;
            weighted += value * (i + 1);
        }

        Assert.Equal(expectedSum, sum);
        Assert.Equal(expectedWeightedSum, weighted);
    }

    [Fact]
    public void Decode_NotPng_ThrowsImageReadException()
    {
        var ex = Assert.Throws<ImageReadException>(() => PngDecoder.Decode("GIF89a not a png"u8));

        Assert.Contains("signature", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(40)]
    [InlineData(-13)]
    public void Decode_TruncatedFile_ThrowsTruncated(int keep)
    {
        var bytes = File.ReadAllBytes(TestData.Fixture("rgb8.png"));
        var length = keep > 0 ? keep : bytes.Length + keep;

        var ex = Assert.Throws<ImageReadException>(() => PngDecoder.Decode(bytes.AsSpan(0, length)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_CorruptedChunkData_ThrowsCrcMismatch()
    {
        var bytes = File.ReadAllBytes(TestData.Fixture("gray8.png"));
        bytes[20] ^= 0x01; // inside IHDR's width field

        var ex = Assert.Throws<ImageReadException>(() => PngDecoder.Decode(bytes));

        Assert.Contains("CRC", ex.Message, StringComparison.Ordinal);
    }
}
