using System.Runtime.InteropServices;

namespace Edge.Appliance;

/// <summary>
/// Keeps the native heap (GDCM's file and pixel buffers, ONNX Runtime, SQLite) from holding on to memory it has freed.
/// glibc gives each thread that allocates its own arena (up to eight per core) and, after the first large block is
/// freed, raises its mmap threshold to that block's size (up to 32 MB): from then on every 8 MB DICOM buffer comes from
/// an arena and stays in the process after it is freed, once per arena. A fixed threshold keeps large blocks in their
/// own mappings, returned to the system on free; two arenas are plenty for a pipeline whose stages take turns.
/// </summary>
internal static partial class NativeHeap
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;
    private const int MallocArenaMax = -8;

    /// <summary>Blocks from this size on get their own mapping: a decoded row or a tensor, not the small objects.</summary>
    private const int MmapThresholdBytes = 256 * 1024;

    /// <summary>Freed memory at the top of a heap beyond this goes back to the system at once.</summary>
    private const int TrimThresholdBytes = 1024 * 1024;

    /// <summary>Applies the settings on Linux with glibc; elsewhere (or on a C library without mallopt) leaves the defaults.</summary>
    public static void Tune()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = Mallopt(MallocArenaMax, 2);
            _ = Mallopt(MallocMmapThreshold, MmapThresholdBytes);
            _ = Mallopt(MallocTrimThreshold, TrimThresholdBytes);
        }
        catch (EntryPointNotFoundException)
        {
            // musl and other C libraries: their allocator does not cache like this.
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
