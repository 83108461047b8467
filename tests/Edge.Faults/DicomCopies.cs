using System.Text;
using Edge.TestSupport;

namespace Edge.Faults;

/// <summary>
/// Copies of a DICOM file, each its own SOP instance: the UID is patched in place (same length, in the file meta and the
/// data set), so compressed pixel data stays byte for byte what the source holds.
/// </summary>
public static class DicomCopies
{
    /// <summary>The SOP Instance UID as DCMTK's dcmdump reads it.</summary>
    public static async Task<string> SopInstanceUidAsync(string path)
    {
        var dump = await ChildProcess.RunAsync("dcmdump", ["-s", "+P", "0008,0018", path], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var open = dump.Stdout.IndexOf('[', StringComparison.Ordinal);
        var close = dump.Stdout.IndexOf(']', StringComparison.Ordinal);
        return open >= 0 && close > open ? dump.Stdout[(open + 1)..close] : throw new InvalidOperationException("no SOP Instance UID in " + path);
    }

    /// <summary>
    /// A UID of <paramref name="uid"/>'s length that differs from it by <paramref name="serial"/>: the last digits of its
    /// longest component (at least 8 digits long, so the component keeps its non-zero first digit) become the serial.
    /// </summary>
    public static string Variant(string uid, int serial, int digits = 6)
    {
        ArgumentNullException.ThrowIfNull(uid);
        var parts = uid.Split('.');
        var longest = Array.IndexOf(parts, parts.MaxBy(p => p.Length));
        if (parts[longest].Length < digits + 2)
        {
            throw new ArgumentException($"{uid} has no component long enough to carry a {digits}-digit serial", nameof(uid));
        }

        parts[longest] = parts[longest][..^digits] + serial.ToString(new string('0', digits), System.Globalization.CultureInfo.InvariantCulture);
        return string.Join('.', parts);
    }

    /// <summary>Writes <paramref name="source"/>'s bytes with the UID <paramref name="from"/> replaced by <paramref name="to"/> (twice: meta and data set).</summary>
    public static void WriteWithUid(byte[] source, string from, string to, string path)
    {
        ArgumentNullException.ThrowIfNull(source);
        File.WriteAllBytes(path, Patch(source, from, to));
    }

    public static byte[] Patch(byte[] bytes, string from, string to)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (from.Length != to.Length)
        {
            throw new ArgumentException("a UID patched in place keeps its length", nameof(to));
        }

        var copy = (byte[])bytes.Clone();
        var needle = Encoding.ASCII.GetBytes(from);
        var replacement = Encoding.ASCII.GetBytes(to);
        var span = copy.AsSpan(0, Math.Min(copy.Length, 4096));
        var replaced = 0;
        for (int at; (at = span.IndexOf(needle)) >= 0; replaced++)
        {
            replacement.CopyTo(span[at..]);
        }

        return replaced == 2 ? copy : throw new InvalidOperationException($"expected the UID twice in the header, found it {replaced} times");
    }
}
