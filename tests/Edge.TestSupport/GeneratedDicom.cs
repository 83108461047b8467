using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Edge.TestSupport;

/// <summary>
/// What a generated DICOM image holds: its pixel layout, stored values and any further attributes, written as DCMTK
/// dump lines (e.g. <c>(0028,1050) DS [2048]</c>, or a whole LUT sequence).
/// </summary>
public sealed record DicomImageSpec
{
    public required int Columns { get; init; }

    public required int Rows { get; init; }

    /// <summary>Stored values, row-major; negative ones need <see cref="Signed"/>.</summary>
    public required int[] Stored { get; init; }

    public int BitsAllocated { get; init; } = 16;

    public int BitsStored { get; init; } = 16;

    public bool Signed { get; init; }

    public string Photometric { get; init; } = "MONOCHROME2";

    /// <summary>DCMTK's name for the SOP class (dcmdata's dictionary), e.g. CTImageStorage.</summary>
    public string SopClass { get; init; } = "DigitalXRayImageStorageForPresentation";

    public string Modality { get; init; } = "DX";

    /// <summary>Explicit VR Little Endian; false writes Implicit VR Little Endian.</summary>
    public bool ExplicitVr { get; init; } = true;

    public string SopInstanceUid { get; init; } = GeneratedDicom.NewUid();

    public IReadOnlyList<string> Attributes { get; init; } = [];
}

/// <summary>
/// Writes DICOM test images with DCMTK's <c>dump2dcm</c> (a reference writer, not ours): the test states the attributes
/// and stored values, DCMTK encodes them, and the test computes what our reader must make of them.
/// </summary>
public static class GeneratedDicom
{
    public static async Task<string> WriteAsync(string path, DicomImageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Stored.Length != spec.Columns * spec.Rows)
        {
            throw new ArgumentException("Stored values do not match rows x columns.", nameof(spec));
        }

        var raw = path + ".raw";
        var bytesPerSample = spec.BitsAllocated / 8;
        var data = new byte[spec.Stored.Length * bytesPerSample];
        var mask = (1 << spec.BitsStored) - 1;
        for (var i = 0; i < spec.Stored.Length; i++)
        {
            var value = spec.Stored[i] & mask; // two's complement in Bits Stored, like a modality writes it
            if (bytesPerSample == 1)
            {
                data[i] = (byte)value;
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), (ushort)value);
            }
        }

        await File.WriteAllBytesAsync(raw, data).ConfigureAwait(false);
        var dump = new StringBuilder();
        void Line(string text) => dump.Append(text).Append('\n');
        Line("(0002,0010) UI =" + (spec.ExplicitVr ? "LittleEndianExplicit" : "LittleEndianImplicit"));
        Line("(0008,0016) UI =" + spec.SopClass);
        Line($"(0008,0018) UI [{spec.SopInstanceUid}]");
        Line($"(0008,0060) CS [{spec.Modality}]");
        Line("(0010,0010) PN [Synthetic^Generated]");
        Line(FormattableString.Invariant($"(0028,0002) US 1"));
        Line($"(0028,0004) CS [{spec.Photometric}]");
        Line(FormattableString.Invariant($"(0028,0010) US {spec.Rows}"));
        Line(FormattableString.Invariant($"(0028,0011) US {spec.Columns}"));
        Line(FormattableString.Invariant($"(0028,0100) US {spec.BitsAllocated}"));
        Line(FormattableString.Invariant($"(0028,0101) US {spec.BitsStored}"));
        Line(FormattableString.Invariant($"(0028,0102) US {spec.BitsStored - 1}"));
        Line(spec.Signed ? "(0028,0103) US 1" : "(0028,0103) US 0");
        foreach (var attribute in spec.Attributes)
        {
            Line(attribute);
        }

        Line($"(7fe0,0010) {(bytesPerSample == 1 ? "OB" : "OW")} ={raw}");
        var dumpPath = path + ".dump.txt";
        await File.WriteAllTextAsync(dumpPath, dump.ToString()).ConfigureAwait(false);

        // dump2dcm sorts the elements, so attributes may come in any order.
        var result = await ChildProcess.RunAsync("dump2dcm", ["-q", spec.ExplicitVr ? "+te" : "+ti", dumpPath, path], TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dump2dcm failed ({result.ExitCode}): {result.Stdout}{result.Stderr}");
        }

        File.Delete(raw);
        File.Delete(dumpPath);
        return path;
    }

    /// <summary>A fresh UID under the 2.25 (UUID) root.</summary>
    public static string NewUid() => "2.25." + new System.Numerics.BigInteger(Guid.NewGuid().ToByteArray(), isUnsigned: true).ToString(CultureInfo.InvariantCulture);

    /// <summary>A LUT sequence item in dump lines: (0028,<paramref name="sequence"/>) with descriptor and 16-bit data.</summary>
    public static IReadOnlyList<string> LutSequence(ushort sequence, int firstMapped, int bitsPerEntry, IReadOnlyList<int> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);

        // The descriptor's first mapped value is written as its 16-bit pattern, which is how US and SS share the element.
        var first = (ushort)(short)firstMapped;
        return
        [
            FormattableString.Invariant($"(0028,{sequence:x4}) SQ (Sequence with undefined length #=1)"),
            "  (fffe,e000) na (Item with undefined length #=2)",
            FormattableString.Invariant($"    (0028,3002) US {(entries.Count == 65536 ? 0 : entries.Count)}\\{first}\\{bitsPerEntry}"),
            "    (0028,3006) US " + string.Join('\\', entries.Select(e => e.ToString(CultureInfo.InvariantCulture))),
            "  (fffe,e00d) na (ItemDelimitationItem)",
            "(fffe,e0dd) na (SequenceDelimitationItem)",
        ];
    }
}
