using Edge.Domain;

namespace Edge.Imaging.Tests;

public class JpegDecoderTests
{
    [Theory]
    [InlineData("baseline_gray.jpg", "MONOCHROME2")]
    [InlineData("baseline_rgb.jpg", "RGB")]
    [InlineData("progressive_rgb.jpg", "RGB")]
    public void Decode_PilJpeg_MatchesPilDecodeWithinTolerance(string name, string photometric)
    {
        var image = JpegDecoder.Decode(File.ReadAllBytes(TestData.Fixture(name)));
        var (width, height, expected) = TestData.Expected(name);

        Assert.Equal(ImageFormat.Jpeg, image.Header.Format);
        Assert.Equal(photometric, image.Header.Photometric);
        Assert.Equal(8, image.Header.BitsStored);
        Assert.Equal((width, height), (image.Pixels.Width, image.Pixels.Height));

        // PIL decodes colour to RGB then takes luma; libturbojpeg decodes Y directly: rounding and chroma upsampling differ slightly.
        var worst = expected.Select((e, i) => Math.Abs(e - image.Pixels.Pixels[i])).Max();
        Assert.True(worst <= 3f, $"largest difference {worst}");
    }

    [Fact]
    public void Decode_TruncatedJpeg_ThrowsImageReadException()
    {
        var bytes = File.ReadAllBytes(TestData.Fixture("baseline_rgb.jpg"));

        Assert.Throws<ImageReadException>(() => JpegDecoder.Decode(bytes.AsSpan(0, 100)));
    }

    [Fact]
    public void Decode_NotJpeg_ThrowsImageReadException()
    {
        Assert.Throws<ImageReadException>(() => JpegDecoder.Decode("\x89PNG"u8));
    }
}
