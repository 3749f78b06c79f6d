using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// JPEG decode through the system TurboJPEG API (<c>libturbojpeg.so.0</c>, libjpeg-turbo with SIMD): straight into
/// the caller's RGB8 buffer, no intermediate frame. TurboJPEG catches libjpeg's <c>longjmp</c> itself and returns -1,
/// so no C shim is needed. Flags 0 = accurate integer DCT (JDCT_ISLOW) and fancy upsampling, the libjpeg defaults
/// Pillow decodes with; TJPF_RGB replicates gray to RGB like Pillow's <c>convert('RGB')</c> of mode "L".
/// </summary>
/// <remarks>
/// A fresh decompressor per image (0.3 µs to create and destroy), as Pillow does. A reused handle carries state from
/// the previous image: libjpeg keeps Huffman and quantization tables across images, so a damaged JPEG whose table was
/// lost decoded with the previous image's table instead of libjpeg's defaults, and libjpeg-turbo 2.1's
/// <c>tjDecompressHeader3</c> leaves its handle mid-header after an error, after which every JPEG on that thread was
/// rejected and went to SkiaSharp. The library is probed once, lazily, with
/// <see cref="NativeLibrary.TryLoad(string, System.Reflection.Assembly, DllImportSearchPath?, out IntPtr)"/>; the
/// <see cref="LibraryImportAttribute"/> stubs then bind to the same already-loaded library.
/// </remarks>
internal static unsafe partial class TurboJpeg
{
    public const string LibraryName = "libturbojpeg.so.0";

    private const int TjpfRgb = 0;
    private const int TjcsYCbCr = 1;
    private const int TjcsGray = 2;
    private const int TjerrWarning = 0;
    private const int TjflagStopOnWarning = 8192;
    private const int MessageMax = 200; // JMSG_LENGTH_MAX

    private static readonly Lazy<bool> s_available = new(Probe);

    /// <summary>True when <c>libturbojpeg.so.0</c> loads and creates a decompressor.</summary>
    public static bool IsAvailable => s_available.Value;

    /// <summary>The outcome of <see cref="TryDecode"/>.</summary>
    public enum Result
    {
        /// <summary>The destination holds the RGB8 pixels.</summary>
        Decoded,

        /// <summary>Not a stream this path handles (CMYK/YCCK, not 8-bit, size differs from the probe): nothing was
        /// reported, use the SkiaSharp path.</summary>
        NotHandled,

        /// <summary>TurboJPEG reported an error (the message is in the out parameter): the destination is unspecified,
        /// use the SkiaSharp path, whose verdict is the decoder's.</summary>
        Failed,
    }

    /// <summary>
    /// Decodes an 8-bit YCbCr or gray JPEG into <paramref name="destination"/> (Width·3 bytes per row). Corrupt data
    /// that libjpeg only warns about (extraneous bytes before a marker, a bad Huffman code) still gives
    /// <see cref="Result.Decoded"/>: those are the pixels Pillow returns, since Pillow ignores libjpeg's warnings
    /// (checked on tests/fixtures/decode/jpeg_fuzz.tsv).
    /// </summary>
    public static Result TryDecode(ReadOnlySpan<byte> data, in ImageHeader header, Span<byte> destination, out string? error)
    {
        error = null;
        if (header.BitsPerSample != 8 || header.Components is not (1 or 3)) return Result.NotHandled;
        fixed (byte* src = data)
        fixed (byte* dst = destination)
        {
            var size = new CULong((nuint)data.Length);
            nint h = Init(out error);
            if (h == 0) return Result.Failed;
            try
            {
                int w, ht, subsamp, colorspace;
                if (tjDecompressHeader3(h, src, size, &w, &ht, &subsamp, &colorspace) != 0 && tjGetErrorCode(h) != TjerrWarning)
                {
                    error = ErrorOf(h);
                    return Result.Failed;
                }
                if (colorspace is not (TjcsYCbCr or TjcsGray) || w != header.Width || ht != header.Height) return Result.NotHandled;
                if (tjDecompress2(h, src, size, dst, w, w * 3, ht, TjpfRgb, TjflagStopOnWarning) == 0) return Result.Decoded;
                if (tjGetErrorCode(h) != TjerrWarning)
                {
                    error = ErrorOf(h);
                    return Result.Failed;
                }
            }
            finally
            {
                _ = tjDestroy(h);
            }
            return DecodeThroughWarnings(src, size, dst, header, out error);
        }
    }

    /// <summary>
    /// The image has warnings: decode again without stopping on them. TurboJPEG reports "warning" for any failure that
    /// follows a warning, fatal or not, so the error code cannot tell a recovered image from a broken one; the message
    /// can: libjpeg writes the message only for the first warning and for the fatal error, so the message is still the
    /// first warning's (the one the stopping pass saw) exactly when no fatal error followed.
    /// </summary>
    private static Result DecodeThroughWarnings(byte* src, CULong size, byte* dst, in ImageHeader header, out string? error)
    {
        Span<byte> firstWarning = stackalloc byte[MessageMax];
        int firstLength = CopyMessage(tjGetErrorStr2(0), firstWarning);
        nint h = Init(out error);
        if (h == 0) return Result.Failed;
        try
        {
            if (tjDecompress2(h, src, size, dst, header.Width, header.Width * 3, header.Height, TjpfRgb, 0) == 0) return Result.Decoded;
            ReadOnlySpan<byte> message = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(tjGetErrorStr2(h));
            if (message.SequenceEqual(firstWarning[..firstLength])) return Result.Decoded;
            error = ErrorOf(h);
            return Result.Failed;
        }
        finally
        {
            _ = tjDestroy(h);
        }
    }

    /// <summary>A fresh decompressor, or 0 with the reason.</summary>
    private static nint Init(out string? error)
    {
        nint h = tjInitDecompress();
        error = h == 0 ? ErrorOf(0) : null;
        return h;
    }

    private static int CopyMessage(byte* message, Span<byte> destination)
    {
        ReadOnlySpan<byte> m = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(message);
        int n = Math.Min(m.Length, destination.Length);
        m[..n].CopyTo(destination);
        return n;
    }

    private static string ErrorOf(nint h) => $"TurboJPEG error: {Marshal.PtrToStringUTF8((nint)tjGetErrorStr2(h))}";

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(LibraryName, typeof(TurboJpeg).Assembly, null, out _))
        {
            return false;
        }
        try
        {
            nint h = tjInitDecompress();
            if (h == 0) return false;
            _ = tjDestroy(h);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport(LibraryName)]
    private static partial nint tjInitDecompress();

    [LibraryImport(LibraryName)]
    private static partial int tjDecompressHeader3(nint handle, byte* jpegBuf, CULong jpegSize, int* width, int* height,
        int* jpegSubsamp, int* jpegColorspace);

    [LibraryImport(LibraryName)]
    private static partial int tjDecompress2(nint handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch,
        int height, int pixelFormat, int flags);

    [LibraryImport(LibraryName)]
    private static partial byte* tjGetErrorStr2(nint handle);

    [LibraryImport(LibraryName)]
    private static partial int tjGetErrorCode(nint handle);

    [LibraryImport(LibraryName)]
    private static partial int tjDestroy(nint handle);
}
