using System.Runtime.InteropServices;
using Edge.Domain;

namespace Edge.Imaging;

/// <summary>
/// Decodes baseline and progressive JPEG (photos of film) to 8-bit gray through the system's libturbojpeg.
/// Colour JPEGs are decoded straight to their luma (Y) channel, which is BT.601 luma by JFIF's definition.
/// </summary>
public static partial class JpegDecoder
{
    public static bool HasSignature(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <exception cref="ImageReadException">The data is not a decodable JPEG, or libturbojpeg is not installed.</exception>
    public static unsafe DecodedImage Decode(ReadOnlySpan<byte> jpeg)
    {
        if (!HasSignature(jpeg))
        {
            throw new ImageReadException("Not a JPEG file (SOI marker missing).");
        }

        var handle = CreateDecompressor();
        try
        {
            fixed (byte* source = jpeg)
            {
                if (TurboJpeg.DecompressHeader3(handle, source, (nuint)jpeg.Length, out var width, out var height, out _, out var colorspace) != 0)
                {
                    throw Failure(handle, "JPEG header cannot be read");
                }

                ImageLimits.ThrowIfTooLarge("JPEG", width, height);
                var gray = new byte[width * height];
                fixed (byte* destination = gray)
                {
                    if (TurboJpeg.Decompress2(handle, source, (nuint)jpeg.Length, destination, width, width, height, TurboJpeg.PixelFormatGray, 0) != 0)
                    {
                        throw Failure(handle, "JPEG cannot be decoded");
                    }
                }

                var pixels = new float[gray.Length];
                for (var i = 0; i < gray.Length; i++)
                {
                    pixels[i] = gray[i];
                }

                var header = new ImageHeader
                {
                    Format = ImageFormat.Jpeg,
                    BitsStored = 8,
                    Photometric = colorspace == TurboJpeg.ColorspaceGray ? "MONOCHROME2" : "RGB",
                };
                return new DecodedImage(new GrayImage(width, height, pixels), header, PatientIdentity.None);
            }
        }
        finally
        {
            _ = TurboJpeg.Destroy(handle);
        }
    }

    private static nint CreateDecompressor()
    {
        nint handle;
        try
        {
            handle = TurboJpeg.InitDecompress();
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new ImageReadException("JPEG decoding needs libturbojpeg.so.0: install the Debian package libturbojpeg0.", ex);
        }

        return handle != 0 ? handle : throw new ImageReadException("JPEG decoder could not be initialised (libturbojpeg).");
    }

    private static ImageReadException Failure(nint handle, string what)
    {
        // libturbojpeg's messages describe the bitstream only ("Premature end of JPEG file"), never image content.
        var reason = Marshal.PtrToStringUTF8(TurboJpeg.GetErrorStr2(handle));
        return new ImageReadException(string.IsNullOrWhiteSpace(reason) ? $"{what}." : $"{what}: {reason}.");
    }

    private static unsafe partial class TurboJpeg
    {
        public const int PixelFormatGray = 6; // TJPF_GRAY
        public const int ColorspaceGray = 2; // TJCS_GRAY
        private const string Library = "libturbojpeg.so.0";

        [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
        public static partial nint InitDecompress();

        // unsigned long is 64-bit on linux-x64 and linux-arm64, hence nuint.
        [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
        public static partial int DecompressHeader3(nint handle, byte* jpegBuf, nuint jpegSize, out int width, out int height, out int subsampling, out int colorspace);

        [LibraryImport(Library, EntryPoint = "tjDecompress2")]
        public static partial int Decompress2(nint handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

        [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
        public static partial nint GetErrorStr2(nint handle);

        [LibraryImport(Library, EntryPoint = "tjDestroy")]
        public static partial int Destroy(nint handle);
    }
}
