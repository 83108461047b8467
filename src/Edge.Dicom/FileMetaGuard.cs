using System.Buffers.Binary;
using System.Text;
using Edge.Dicom.Network;
using Edge.Domain;

namespace Edge.Dicom;

/// <summary>
/// A structural check in managed code before GDCM sees a file. GDCM (as Debian builds it) asserts on some malformed
/// files, and a failed assertion aborts the whole process, which no exception handler can catch: fuzzing the intake
/// found three (an Implicit VR meta group, an element length past the end of the file, a length that lands inside the
/// next element). So the File Meta Information must walk as Explicit VR Little Endian (PS3.10), and the data set must
/// walk in its transfer syntax with every length inside the file (the check the SCP runs on what it receives), up to
/// the end of the pixel data. Nothing is decoded; deflated data sets are left to GDCM.
/// On the way it gathers what <see cref="GdcmPreCheck"/> needs to refuse the element shapes, attributes and compressed
/// frame headers on which GDCM asserts (the semantic findings of the same fuzzing), and it checks what follows the
/// pixel data, where GDCM goes on reading.
/// </summary>
internal static class FileMetaGuard
{
    private const int PreambleLength = 128;

    /// <summary>More than any real meta header holds; the check reads no further.</summary>
    private const int MaxMetaBytes = 64 * 1024;

    /// <summary>How much of the first JPEG fragment is read for its header: more than tables and any real APPn segments take.</summary>
    private const int MaxJpegHeaderBytes = 256 * 1024;

    /// <summary>RLE pixel data is read whole to follow its runs; beyond this (no radiograph comes near) it is left unjudged.</summary>
    private const long MaxRleBytes = 512L * 1024 * 1024;

    /// <exception cref="ImageReadException">The file's meta information or data set is malformed, or holds what GDCM would abort on.</exception>
    public static void Check(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
            var head = new byte[(int)Math.Min(stream.Length, PreambleLength + 4 + MaxMetaBytes)];
            stream.ReadExactly(head);
            var meta = ReadMeta(head, stream.Length);
            if (meta.Problem is { } problem)
            {
                throw new ImageReadException($"DICOM file meta information is malformed ({problem}).");
            }

            var explicitVr = meta.TransferSyntax switch
            {
                null => LooksExplicit(head.AsSpan(meta.DataSetOffset)),
                "1.2.840.10008.1.2" => false,
                "1.2.840.10008.1.2.1.99" => (bool?)null,
                _ => true,
            };
            // GDCM reads one more tag after the meta group and asserts when the file ends there.
            if (meta.DataSetOffset > 0 && meta.DataSetOffset >= stream.Length)
            {
                throw new ImageReadException("DICOM file has meta information but no data set.");
            }

            if (explicitVr is null || meta.DataSetOffset >= stream.Length)
            {
                return;
            }

            stream.Position = meta.DataSetOffset;
            var bigEndian = meta.TransferSyntax == "1.2.840.10008.1.2.2";
            var facts = new DecodeFacts(bigEndian);
            if (DataSetWalker.Check(stream, explicitVr.Value, stopAfterPixelData: true, facts, bigEndian) is { } malformed)
            {
                // Without preamble or meta header nothing says the bytes were ever meant to be DICOM.
                throw new ImageReadException(meta.DataSetOffset == 0 ? "Not a DICOM file (or the file is damaged)." : $"DICOM data set is malformed ({malformed}).");
            }

            var afterPixelData = CheckAfterPixelData(stream, explicitVr.Value, bigEndian, facts);
            var transferSyntax = meta.TransferSyntax ?? facts.DataSetTransferSyntax;
            var refusal = afterPixelData
                ?? facts.ShapeProblem
                ?? facts.AttributeVrProblem
                ?? facts.DuplicateProblem
                ?? facts.RecognitionCodeProblem
                ?? (facts.HasFragmentAfterOffsetTable(stream) ? null : "the encapsulated Pixel Data has no fragment after its offset table")
                ?? GdcmPreCheck.CheckPlanarConfiguration(facts.PlanarConfiguration)
                ?? GdcmPreCheck.CheckDimensions(facts.HasPixelData, facts.Rows, facts.Columns)
                ?? GdcmPreCheck.CheckPixelAttributes(facts.SamplesPerPixel, facts.BitsAllocated, facts.BitsStored, transferSyntax)
                ?? GdcmPreCheck.CheckScalarType(facts.HasPixelData, facts.BitsAllocated, facts.PixelRepresentation)
                ?? (IsNative(transferSyntax) && facts.NativePixelDataLength is { } pixelBytes
                    ? GdcmPreCheck.CheckNativePixelData(pixelBytes, facts.Rows!.Value, facts.Columns!.Value, facts.SamplesPerPixel ?? 1, facts.BitsAllocated!.Value, facts.Frames)
                    : null)
                ?? (GdcmPreCheck.IsJpegProcess(transferSyntax) ? GdcmPreCheck.CheckJpegHeader(facts.ReadFirstFragment(stream, MaxJpegHeaderBytes), facts.BitsAllocated) : null)
                ?? (transferSyntax == GdcmPreCheck.RleLossless ? CheckRle(stream, facts) : null);
            if (refusal is not null)
            {
                throw new ImageReadException($"DICOM file cannot be decoded safely ({refusal}).");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left to the reader, which explains open failures its own way.
        }
    }

    /// <summary>The walk stopped at the end of the top-level Pixel Data: what follows must not leave GDCM inside an element.</summary>
    private static string? CheckAfterPixelData(Stream stream, bool explicitVr, bool bigEndian, DecodeFacts facts)
    {
        var trailing = stream.Length - stream.Position;
        if (trailing <= 0)
        {
            return null;
        }

        var start = stream.Position;
        var allZero = true;
        var buffer = new byte[4096];
        int read;
        while (allZero && (read = stream.Read(buffer)) > 0)
        {
            allZero = !buffer.AsSpan(0, read).ContainsAnyExcept((byte)0);
        }

        stream.Position = start;
        return GdcmPreCheck.CheckAfterPixelData(trailing, allZero, DataSetWalker.Check(stream, explicitVr, visitor: facts, bigEndian: bigEndian));
    }

    /// <summary>Uncompressed transfer syntaxes (and none: old files without meta information are uncompressed).</summary>
    private static bool IsNative(string? transferSyntax) => transferSyntax is null or "1.2.840.10008.1.2" or "1.2.840.10008.1.2.1" or "1.2.840.10008.1.2.2";

    /// <summary>RLE frames as GDCM decodes them: one frame is all fragments end to end; several are one fragment each.</summary>
    private static string? CheckRle(Stream stream, DecodeFacts facts)
    {
        if (GdcmPreCheck.CheckRleAttributes(facts.Rows, facts.Columns, facts.BitsAllocated) is { } problem)
        {
            return problem;
        }

        if (facts.ReadFragments(stream, MaxRleBytes) is not { Count: > 0 } fragments)
        {
            return null;
        }

        var (rows, columns, samples, bits) = (facts.Rows!.Value, facts.Columns!.Value, facts.SamplesPerPixel ?? 1, facts.BitsAllocated!.Value);
        if (facts.Frames <= 1)
        {
            return GdcmPreCheck.CheckRleFrame(fragments.SelectMany(f => f).ToArray(), rows, columns, samples, bits);
        }

        // A fragment count other than the frame count GDCM refuses cleanly.
        return fragments.Count != facts.Frames
            ? null
            : fragments.Select(f => GdcmPreCheck.CheckRleFrame(f, rows, columns, samples, bits)).FirstOrDefault(p => p is not null);
    }

    /// <summary>Walks group 0002 (when present) as Explicit VR Little Endian: where the data set starts, its transfer syntax, or what is wrong.</summary>
    internal static (int DataSetOffset, string? TransferSyntax, string? Problem) ReadMeta(ReadOnlySpan<byte> head, long fileLength)
    {
        var offset = head.Length >= PreambleLength + 4 && head.Slice(PreambleLength, 4).SequenceEqual("DICM"u8) ? PreambleLength + 4 : 0;
        string? transferSyntax = null;
        while (offset + 8 <= head.Length && BinaryPrimitives.ReadUInt16LittleEndian(head[offset..]) == 0x0002)
        {
            var element = BinaryPrimitives.ReadUInt16LittleEndian(head[(offset + 2)..]);
            var vr = Encoding.ASCII.GetString(head.Slice(offset + 4, 2));
            if (!DataSetWalker.IsKnownVr(vr))
            {
                return (offset, null, "group 0002 is not Explicit VR");
            }

            if (vr == "SQ")
            {
                // GDCM asserts on a sequence in the meta group.
                return (offset, null, "group 0002 holds a sequence");
            }

            long length;
            if (DataSetWalker.HasLongLength(vr))
            {
                if (offset + 12 > head.Length)
                {
                    return (offset, null, "group 0002 is cut short");
                }

                length = BinaryPrimitives.ReadUInt32LittleEndian(head[(offset + 8)..]);
                offset += 12;
            }
            else
            {
                length = BinaryPrimitives.ReadUInt16LittleEndian(head[(offset + 6)..]);
                offset += 8;
            }

            if (length == 0xFFFF_FFFF || offset + length > Math.Min(fileLength, head.Length))
            {
                return (offset, null, "a group 0002 length runs past the meta information");
            }

            if (element == 0x0010)
            {
                transferSyntax = Encoding.ASCII.GetString(head.Slice(offset, (int)length)).TrimEnd('\0', ' ');
            }

            offset += (int)length;
        }

        return (offset, transferSyntax, null);
    }

    /// <summary>Without a meta header, as GDCM guesses: a valid VR where the first element's VR would be.</summary>
    private static bool LooksExplicit(ReadOnlySpan<byte> dataSet) =>
        dataSet.Length >= 6 && DataSetWalker.IsKnownVr(Encoding.ASCII.GetString(dataSet.Slice(4, 2)));
}
