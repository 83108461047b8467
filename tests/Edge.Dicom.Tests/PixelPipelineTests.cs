using Edge.Domain;
using Edge.Imaging;
using Edge.TestSupport;

namespace Edge.Dicom.Tests;

/// <summary>
/// The grayscale pipeline on images DCMTK writes (dump2dcm): Modality LUT (sequence or rescale), VOI (LUT sequence,
/// window, or percentiles), MONOCHROME1 and Presentation LUT Shape. Each expected pixel is computed here from the
/// attributes the test wrote, by the formulas of PS3.3 C.11.
/// </summary>
public sealed class PixelPipelineTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-pixels");

    public void Dispose() => _temp.Dispose();

    // Model input is the modality values: the table's entry for each stored value, clamped at both ends, and the
    // rescale that the file also carries is ignored because the sequence takes precedence.
    [Theory]
    [InlineData(16, 12, true)]
    [InlineData(16, 12, false)]
    [InlineData(16, 16, true)]
    [InlineData(8, 8, false)]
    public async Task Read_ModalityLutSequence_MapsEveryStoredValueThroughTheTable(int bitsAllocated, int bitsStored, bool explicitVr)
    {
        const int first = 10;
        var entries = Enumerable.Range(0, 64).Select(k => (k * k * 7) % 4000).ToArray();
        var stored = Enumerable.Range(0, 80).ToArray(); // 0..9 below the table, 74..79 past its end
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = 16, Rows = 5, Stored = stored, BitsAllocated = bitsAllocated, BitsStored = bitsStored, ExplicitVr = explicitVr,
            Attributes = [.. GeneratedDicom.LutSequence(0x3000, first, 12, entries), "(0028,1052) DS [-100]", "(0028,1053) DS [3]"],
        });

        var pixels = DicomFileReader.Read(path).Pixels.Pixels;

        Assert.Equal(stored.Select(v => (float)entries[Math.Clamp(v - first, 0, entries.Length - 1)]), pixels);
    }

    [Fact]
    public async Task Read_ModalityLutSequenceOnSignedPixels_ReadsFirstMappedValueAsSigned()
    {
        var entries = Enumerable.Range(0, 41).Select(k => 1000 + (k * 3)).ToArray(); // maps -20..20
        int[] stored = [-32768, -21, -20, -1, 0, 7, 20, 21, 32767];
        var path = await WriteAsync(new DicomImageSpec { Columns = stored.Length, Rows = 1, Stored = stored, Signed = true, Attributes = GeneratedDicom.LutSequence(0x3000, -20, 16, entries) });

        var pixels = DicomFileReader.Read(path).Pixels.Pixels;

        Assert.Equal([1000f, 1000f, 1000f, 1057f, 1060f, 1081f, 1120f, 1120f, 1120f], pixels);
    }

    [Theory]
    [InlineData(8, 8, false, false, 1.0, -128.0)]
    [InlineData(16, 12, false, true, 0.5, 0.0)]
    [InlineData(16, 12, true, false, 2.0, -100.0)]
    [InlineData(16, 16, false, true, 1.0, -1024.0)]
    [InlineData(16, 16, true, true, 0.25, 10.5)]
    public async Task Read_RescaleSlopeIntercept_GivesSlopeTimesStoredPlusIntercept(int bitsAllocated, int bitsStored, bool signed, bool explicitVr, double slope, double intercept)
    {
        var max = (1 << bitsStored) - 1;
        var low = signed ? -(1 << (bitsStored - 1)) : 0;
        var high = signed ? (1 << (bitsStored - 1)) - 1 : max;
        int[] stored = [low, low + 1, 0, 1, high / 3, high - 1, high];
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = stored.Length, Rows = 1, Stored = stored, BitsAllocated = bitsAllocated, BitsStored = bitsStored, Signed = signed, ExplicitVr = explicitVr,
            Attributes = [FormattableString.Invariant($"(0028,1052) DS [{intercept}]"), FormattableString.Invariant($"(0028,1053) DS [{slope}]")],
        });

        var image = DicomFileReader.Read(path);

        Assert.Equal(stored.Select(v => (float)((v * slope) + intercept)), image.Pixels.Pixels);
        Assert.Equal(bitsStored, image.Header.BitsStored);
    }

    // The display takes each modality value through the VOI LUT and scales its output range (2^bits - 1) to 0..255;
    // MONOCHROME1 then inverts. The header's window is present too, and must lose to the table.
    [Theory]
    [InlineData("MONOCHROME2", 8, true)]
    [InlineData("MONOCHROME2", 12, false)]
    [InlineData("MONOCHROME1", 12, true)]
    [InlineData("MONOCHROME1", 16, false)]
    public async Task Render_VoiLutSequence_DisplaysTheTableOutputScaledToEightBits(string photometric, int lutBits, bool explicitVr)
    {
        const int first = 100;
        var top = (1 << lutBits) - 1;
        var entries = Enumerable.Range(0, 256).Select(k => (int)Math.Round(top * Math.Sqrt(k / 255.0))).ToArray(); // a gamma curve, not a line
        var stored = Enumerable.Range(0, 400).Select(k => k * 2).ToArray();
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = 20, Rows = 20, Stored = stored, BitsStored = 12, Photometric = photometric, ExplicitVr = explicitVr,
            Attributes = [.. GeneratedDicom.LutSequence(0x3010, first, lutBits, entries), "(0028,1050) DS [400]", "(0028,1051) DS [100]"],
        });

        var image = DicomFileReader.Read(path);
        var display = DisplayImage.Render(image).Pixels;

        Assert.NotNull(image.Header.VoiLut);
        var expected = stored.Select(v =>
        {
            var value = Math.Round(entries[Math.Clamp(v - first, 0, entries.Length - 1)] * 255.0 / top);
            return (byte)(photometric == "MONOCHROME1" ? 255 - value : value);
        });
        Assert.Equal(expected, display);
    }

    // No VOI LUT: the first window, by the linear function of PS3.3 C.11.2.1.2.1, after the rescale.
    [Theory]
    [InlineData(12, 2048.0, 1000.0, false)]
    [InlineData(16, 30000.0, 4001.0, true)]
    [InlineData(8, 100.0, 50.0, true)]
    public async Task Render_WindowCentreWidth_AppliesTheLinearVoiFunction(int bitsStored, double centre, double width, bool explicitVr)
    {
        var max = (1 << bitsStored) - 1;
        var stored = Enumerable.Range(0, 256).Select(k => k * max / 255).ToArray();
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = 16, Rows = 16, Stored = stored, BitsAllocated = bitsStored > 8 ? 16 : 8, BitsStored = bitsStored, ExplicitVr = explicitVr,
            Attributes = [FormattableString.Invariant($"(0028,1050) DS [{centre}\\1]"), FormattableString.Invariant($"(0028,1051) DS [{width}\\2]"), "(0028,1052) DS [-10]", "(0028,1053) DS [1]"],
        });

        var display = DisplayImage.Render(DicomFileReader.Read(path)).Pixels;

        var expected = stored.Select(v =>
        {
            var x = v - 10.0;
            var y = x <= centre - 0.5 - ((width - 1) / 2) ? 0
                : x > centre - 0.5 + ((width - 1) / 2) ? 255
                : (((x - (centre - 0.5)) / (width - 1)) + 0.5) * 255;
            return (byte)Math.Round(y);
        }).ToArray();
        Assert.Equal(expected, display);
        Assert.Contains((byte)0, display);
        Assert.Contains((byte)255, display);
    }

    // Neither LUT nor window: the 0.5th percentile is black and the 99.5th white, so two hot pixels do not flatten the picture.
    [Fact]
    public async Task Render_NoWindowNoVoiLut_StretchesPercentilesAndClipsOutliers()
    {
        var stored = Enumerable.Range(0, 1000).Select(k => 1000 + k).Concat([0, 65535]).ToArray();
        var path = await WriteAsync(new DicomImageSpec { Columns = 1002, Rows = 1, Stored = stored, ExplicitVr = false });

        var display = DisplayImage.Render(DicomFileReader.Read(path)).Pixels;

        Assert.Equal(0, display[1000]);
        Assert.Equal(255, display[1001]);
        Assert.InRange(display[5], 0, 1);
        Assert.InRange(display[994], 254, 255);
        Assert.InRange(display[500], 126, 129);
    }

    // Presentation LUT Shape decides when present (it already accounts for the photometric interpretation); absent,
    // MONOCHROME1 inverts. The lowest value is therefore white exactly in the inverted cases.
    [Theory]
    [InlineData("MONOCHROME1", null, true)]
    [InlineData("MONOCHROME2", null, false)]
    [InlineData("MONOCHROME1", "INVERSE", true)]
    [InlineData("MONOCHROME2", "INVERSE", true)]
    [InlineData("MONOCHROME1", "IDENTITY", false)]
    [InlineData("MONOCHROME2", "IDENTITY", false)]
    public async Task Render_PresentationLutShape_InvertsExactlyWhenTheStandardSays(string photometric, string? shape, bool inverted)
    {
        int[] stored = [0, 1000, 2000, 4095];
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = 4, Rows = 1, Stored = stored, BitsStored = 12, Photometric = photometric, Modality = "CR", SopClass = "ComputedRadiographyImageStorage",
            Attributes = [.. shape is null ? [] : new[] { $"(2050,0020) CS [{shape}]" }, "(0028,1050) DS [2048]", "(0028,1051) DS [4096]"],
        });

        var image = DicomFileReader.Read(path);
        var display = DisplayImage.Render(image).Pixels;

        Assert.Equal(inverted, image.Header.DisplaysInverted);
        Assert.Equal(inverted ? (byte)255 : (byte)0, display[0]);
        Assert.Equal(inverted ? (byte)0 : (byte)255, display[3]);
        Assert.Equal(stored, image.Pixels.Pixels.Select(p => (int)p)); // the model input is the modality values, never inverted here
    }

    // A console-sized image (2048 x 2048, 16 bits, implicit VR, MONOCHROME1): every pixel makes it through.
    [Fact]
    public async Task Read_BigImplicitMonochrome1_KeepsEveryPixelAndWindowsIt()
    {
        const int side = 2048;
        var stored = new int[side * side];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = ((i % side) * 31 + (i / side) * 17) % 65536;
        }

        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = side, Rows = side, Stored = stored, ExplicitVr = false, Photometric = "MONOCHROME1", Modality = "CR", SopClass = "ComputedRadiographyImageStorage",
            Attributes = ["(0028,1050) DS [32768]", "(0028,1051) DS [65536]"],
        });

        var image = DicomFileReader.Read(path);
        var display = DisplayImage.Render(image, maxSide: side).Pixels;

        Assert.Equal((side, side), (image.Pixels.Width, image.Pixels.Height));
        Assert.Equal(stored.Select(v => (float)v), image.Pixels.Pixels);
        foreach (var i in new[] { 0, 1, side, (side * side / 2) + 77, (side * side) - 1 })
        {
            var linear = Math.Round(((((stored[i] - 32767.5) / 65535) + 0.5) * 255));
            Assert.Equal((byte)(255 - Math.Clamp(linear, 0, 255)), display[i]);
        }
    }

    // The same kinds of generated image go through DCMTK's storescu into our SCP and read back identically: pixels in
    // modality units, the VOI LUT and the presentation shape.
    [Theory]
    [InlineData(8, false, "MONOCHROME2", true)]
    [InlineData(12, false, "MONOCHROME1", false)]
    [InlineData(16, true, "MONOCHROME1", true)]
    [InlineData(16, false, "MONOCHROME2", false)]
    public async Task Store_GeneratedImageWithLuts_ArrivesThroughStorescuAndReadsTheSame(int bitsStored, bool big, string photometric, bool explicitVr)
    {
        var side = big ? 2048 : 64;
        var max = (1 << bitsStored) - 1;
        var stored = Enumerable.Range(0, side * side).Select(i => (int)((long)i * max / ((side * side) - 1))).ToArray();
        var path = await WriteAsync(new DicomImageSpec
        {
            Columns = side, Rows = side, Stored = stored, BitsAllocated = bitsStored > 8 ? 16 : 8, BitsStored = bitsStored, Photometric = photometric, ExplicitVr = explicitVr,
            Attributes =
            [
                .. GeneratedDicom.LutSequence(0x3000, 0, 16, [.. Enumerable.Range(0, 256).Select(k => k * 100)]),
                .. GeneratedDicom.LutSequence(0x3010, 0, 12, [.. Enumerable.Range(0, 64).Select(k => k * 65)]),
                "(2050,0020) CS [IDENTITY]",
            ],
        });
        await using var scp = await Network.ScpHarness.StartAsync();

        var store = await scp.StoreAsync([path], [Network.DicomScpStoreTests.ProposalFor(path)]);

        Assert.True(store.ExitCode == 0, store.Stdout + store.Stderr);
        var sent = DicomFileReader.Read(path);
        var received = DicomFileReader.Read(Assert.Single(scp.ReceivedFiles()));
        Assert.Equal(sent.Pixels.Pixels, received.Pixels.Pixels);
        Assert.Equal(stored.Select(v => (float)Math.Min(v, 255) * 100), received.Pixels.Pixels);
        Assert.Equal(sent.Header.VoiLut!.Entries.ToArray(), received.Header.VoiLut!.Entries.ToArray());
        Assert.Equal(DisplayImage.Render(sent).Pixels, DisplayImage.Render(received).Pixels);
        Assert.False(received.Header.DisplaysInverted);
    }

    private Task<string> WriteAsync(DicomImageSpec spec) => GeneratedDicom.WriteAsync(_temp.Combine(Guid.NewGuid().ToString("N") + ".dcm"), spec);
}
