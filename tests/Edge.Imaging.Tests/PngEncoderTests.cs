namespace Edge.Imaging.Tests;

public class PngEncoderTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(17, 5)]
    [InlineData(64, 48)]
    public void Encode_GrayImage_RoundTripsExactly(int width, int height)
    {
        var pixels = new byte[width * height];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)((i * 37) ^ (i / width * 11));
        }

        var decoded = PngDecoder.Decode(PngEncoder.Encode(new Gray8Image(width, height, pixels)));

        Assert.Equal("MONOCHROME2", decoded.Header.Photometric);
        Assert.Equal(8, decoded.Header.BitsStored);
        Assert.Equal(pixels.Select(p => (float)p), decoded.Pixels.Pixels);
    }

    [Fact]
    public void Encode_RgbImage_DecodesToLumaOfPixels()
    {
        const int width = 9, height = 4;
        var rgb = new byte[width * height * 3];
        for (var i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (byte)(i * 53);
        }

        var decoded = PngDecoder.Decode(PngEncoder.Encode(new RgbImage(width, height, rgb)));

        Assert.Equal("RGB", decoded.Header.Photometric);
        for (var p = 0; p < width * height; p++)
        {
            var luma = (0.299f * rgb[p * 3]) + (0.587f * rgb[(p * 3) + 1]) + (0.114f * rgb[(p * 3) + 2]);
            Assert.Equal(luma, decoded.Pixels.Pixels[p], 3);
        }
    }

    [Fact]
    public void Encode_GrayImage_StartsWithPngSignatureAndEndsWithIend()
    {
        var png = PngEncoder.Encode(new Gray8Image(2, 2, [0, 64, 128, 255]));

        Assert.True(PngDecoder.HasSignature(png));
        Assert.Equal("IEND"u8.ToArray(), png[^8..^4]);
    }
}
