using System.Buffers.Binary;
using ScalarType = gdcm.PixelFormat.ScalarType;

namespace Edge.Dicom.Tests;

public sealed class DicomPixelsTests
{
    /// <summary>Every 16-bit stored value, through the one-loop path, equals the per-sample decoding of the same layout.</summary>
    [Theory]
    [InlineData(ScalarType.UINT16, 16, 15)]
    [InlineData(ScalarType.INT16, 16, 15)]
    [InlineData(ScalarType.UINT16, 12, 11)]
    [InlineData(ScalarType.INT16, 12, 11)]
    [InlineData(ScalarType.UINT12, 12, 11)]
    [InlineData(ScalarType.INT12, 12, 11)]
    [InlineData(ScalarType.UINT16, 12, 15)]
    [InlineData(ScalarType.INT16, 10, 13)]
    [InlineData(ScalarType.UINT16, 8, 7)]
    [InlineData(ScalarType.UINT16, 20, 19)]
    public void Samples_TwoByteIntegers_EqualPerSampleDecoding(ScalarType scalar, int bitsStored, int highBit)
    {
        var frame = new byte[65536 * 2];
        for (var v = 0; v < 65536; v++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(v * 2), (ushort)v);
        }

        var layout = new DicomPixels.SampleLayout(2, scalar, bitsStored, highBit);

        var values = DicomPixels.Samples(frame, layout);

        Assert.Equal(65536, values.Length);
        for (var v = 0; v < 65536; v++)
        {
            var expected = (float)layout.Integer(frame.AsSpan(v * 2, 2));
            Assert.True(expected == values[v], $"stored {v}: expected {expected}, got {values[v]}");
        }
    }
}
