using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Edge.Dicom.Results;

/// <summary>
/// UIDs under the 2.25 root (PS3.5 B.2: a UUID as one decimal integer), so they need no registered organisation root.
/// They are name-based (RFC 9562 version 8, from SHA-256) rather than random: writing the objects again for the same
/// result, after a crash between writing and recording, gives the same UIDs, so a PACS sees a resend, not a second report.
/// </summary>
internal static class ResultUids
{
    public static string StructuredReportInstance(string resultId, string sourceSopInstanceUid) => From("sr-instance", resultId, sourceSopInstanceUid);

    public static string SecondaryCaptureInstance(string resultId, string sourceSopInstanceUid) => From("sc-instance", resultId, sourceSopInstanceUid);

    /// <summary>One series per study, kind and device: all of a study's SRs from this appliance sit together.</summary>
    public static string Series(string studyInstanceUid, string kind, string deviceId) => From("series", studyInstanceUid, kind, deviceId);

    public static string DeviceObserver(string deviceId) => From("device", deviceId);

    public static string Tracking(string resultId, string sourceSopInstanceUid) => From("tracking", resultId, sourceSopInstanceUid);

    internal static string From(params string[] names)
    {
        // Length-prefixed parts, so ("ab", "c") and ("a", "bc") differ.
        var input = new StringBuilder("edge-result-uid");
        foreach (var name in names)
        {
            input.Append('\n').Append(name.Length).Append(':').Append(name);
        }

        Span<byte> uuid = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(input.ToString()), uuid);
        uuid = uuid[..16];
        uuid[6] = (byte)((uuid[6] & 0x0F) | 0x80); // version 8
        uuid[8] = (byte)((uuid[8] & 0x3F) | 0x80); // RFC variant
        return "2.25." + new BigInteger(uuid, isUnsigned: true, isBigEndian: true).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
