using System.Reflection;
using System.Runtime.InteropServices;

namespace Edge.Dicom;

/// <summary>
/// Lets the gdcm-sharp binding find its native glue without LD_LIBRARY_PATH: Debian installs
/// libgdcmsharpglue.so in /usr/lib/cli/gdcm-sharp-3.0/, which is not on the loader's search path.
/// A copy next to the application wins, so an image can ship its own.
/// </summary>
public static class GdcmNativeLibrary
{
    public const string DebianDirectory = "/usr/lib/cli/gdcm-sharp-3.0";

    private const string GlueImportName = "gdcmsharpglue";
    private const string GlueFileName = "libgdcmsharpglue.so";

    private static int registered;

    /// <summary>Installs the resolver once; later calls do nothing. Must run before the first use of any gdcm type.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 0)
        {
            // typeof does not run gdcm's static constructors, which are the first P/Invokes into the glue.
            NativeLibrary.SetDllImportResolver(typeof(gdcm.Reader).Assembly, Resolve);
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != GlueImportName)
        {
            return 0;
        }

        foreach (var directory in new[] { AppContext.BaseDirectory, DebianDirectory })
        {
            var candidate = Path.Combine(directory, GlueFileName);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }

        // Zero falls back to the runtime's default probing, which ends in DllNotFoundException.
        return 0;
    }

    private static int traceSilenced;

    /// <summary>
    /// Everything GDCM needs before first use: the native glue resolved, and its stderr tracing off, because GDCM's
    /// warnings can quote element values, i.e. patient data. Idempotent.
    /// </summary>
    public static void Prepare()
    {
        Register();
        if (Interlocked.Exchange(ref traceSilenced, 1) == 0)
        {
            gdcm.Trace.DebugOff();
            gdcm.Trace.WarningOff();
            gdcm.Trace.ErrorOff();
        }
    }
}
