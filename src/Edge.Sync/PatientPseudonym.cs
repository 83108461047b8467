using System.Security.Cryptography;
using System.Text;

namespace Edge.Sync;

/// <summary>
/// The only trace of a patient's identity that leaves the device: HMAC-SHA256 of the patient ID under a secret kept at
/// the site. The province can count one patient's images together without learning who it is, and without the key
/// nobody can test a guessed ID against it (a plain hash of a national ID number could be reversed by enumeration).
/// </summary>
public sealed class PatientPseudonym
{
    /// <summary>Below 256 bits the key would be weaker than the hash it keys.</summary>
    public const int MinimumKeyBytes = 32;

    private readonly byte[] _key;

    public PatientPseudonym(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumKeyBytes)
        {
            throw new SyncException($"The pseudonym key has {key.Length} bytes; it needs at least {MinimumKeyBytes} (e.g. head -c 32 /dev/urandom).");
        }

        _key = key.ToArray();
    }

    /// <summary>Reads the key file's bytes as they are: every appliance of a site must hold the same file.</summary>
    /// <exception cref="SyncException">The file cannot be read or is too short.</exception>
    public static PatientPseudonym Load(string path)
    {
        try
        {
            return new PatientPseudonym(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SyncException($"Cannot read the pseudonym key {path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Lower-case hex HMAC-SHA256 of the patient ID with DICOM's space padding trimmed; null when there is no ID, so
    /// images without one are not all counted as one patient.
    /// </summary>
    public string? Of(string? patientId)
    {
        var id = patientId?.Trim(' ', '\0');
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(id)));
    }
}
