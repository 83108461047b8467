using System.Buffers.Binary;
using Edge.Domain;

namespace Edge.Dicom;

/// <summary>
/// Checks the File Meta Information (group 0002) in managed code before GDCM sees the file. PS3.10 requires it to be
/// Explicit VR Little Endian; when its VRs are not valid, GDCM falls back to reading it as Implicit VR, and on some
/// such files (found by fuzzing the intake) an assertion in that path aborts the whole process, which no exception
/// handler can catch. Such files are refused here instead. Files without group 0002 (bare data sets, old ACR-NEMA
/// style) are left to GDCM.
/// </summary>
internal static class FileMetaGuard
{
    private const int PreambleLength = 128;

    /// <summary>More than any real meta header holds; the check reads no further.</summary>
    private const int MaxMetaBytes = 64 * 1024;

    /// <exception cref="ImageReadException">The file's meta information is malformed.</exception>
    public static void Check(string path)
    {
        byte[] head;
        long fileLength;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            fileLength = stream.Length;
            head = new byte[(int)Math.Min(fileLength, PreambleLength + 4 + MaxMetaBytes)];
            stream.ReadExactly(head);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left to the reader, which explains open failures its own way.
            return;
        }

        if (Problem(head, fileLength) is { } problem)
        {
            throw new ImageReadException($"DICOM file meta information is malformed ({problem}).");
        }
    }

    /// <summary>Null when group 0002 is absent or walks as Explicit VR Little Endian within the file; otherwise what is wrong.</summary>
    internal static string? Problem(ReadOnlySpan<byte> head, long fileLength)
    {
        var offset = head.Length >= PreambleLength + 4 && head.Slice(PreambleLength, 4).SequenceEqual("DICM"u8) ? PreambleLength + 4 : 0;
        while (offset + 8 <= head.Length && BinaryPrimitives.ReadUInt16LittleEndian(head[offset..]) == 0x0002)
        {
            var vr = string.Create(2, (head[offset + 4], head[offset + 5]), static (s, b) => (s[0], s[1]) = ((char)b.Item1, (char)b.Item2));
            if (!Network.DataSetWalker.IsKnownVr(vr))
            {
                return "group 0002 is not Explicit VR";
            }

            long length;
            if (Network.DataSetWalker.HasLongLength(vr))
            {
                if (offset + 12 > head.Length)
                {
                    return "group 0002 is cut short";
                }

                length = BinaryPrimitives.ReadUInt32LittleEndian(head[(offset + 8)..]);
                offset += 12;
            }
            else
            {
                length = BinaryPrimitives.ReadUInt16LittleEndian(head[(offset + 6)..]);
                offset += 8;
            }

            if (length == 0xFFFF_FFFF || offset + length > Math.Min(fileLength, PreambleLength + 4 + MaxMetaBytes))
            {
                return "a group 0002 length runs past the meta information";
            }

            offset += (int)length;
        }

        return null;
    }
}
