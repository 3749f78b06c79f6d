using System.Buffers;
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
    private const int TjpfCmyk = 11;
    private const int TjcsYCbCr = 1;
    private const int TjcsGray = 2;
    private const int TjcsCmyk = 3;
    private const int TjcsYcck = 4;
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

        /// <summary>Not a stream this path handles (not 8-bit, an unusual colour space, size differs from the probe):
        /// nothing was reported, use the SkiaSharp path.</summary>
        NotHandled,

        /// <summary>libjpeg reported a fatal error (the message is in the out parameter): the image is corrupt, as
        /// Pillow would say; the destination is unspecified.</summary>
        Failed,
    }

    /// <summary>
    /// Decodes an 8-bit YCbCr, gray, CMYK or YCCK JPEG into <paramref name="destination"/> as RGB8 (Width·3 bytes per
    /// row). Corrupt data that libjpeg only warns about (extraneous bytes before a marker, a bad Huffman code) still
    /// gives <see cref="Result.Decoded"/>: those are the pixels Pillow returns, since Pillow ignores libjpeg's warnings
    /// (checked on tests/fixtures/decode/jpeg_fuzz.tsv).
    /// </summary>
    public static Result TryDecode(ReadOnlySpan<byte> data, in ImageHeader header, Span<byte> destination, out string? error)
    {
        error = null;
        if (header.BitsPerSample != 8 || header.Components is not (1 or 3 or 4)) return Result.NotHandled;
        fixed (byte* src = data)
        {
            var size = new CULong((nuint)data.Length);
            int colorspace;
            nint h = Init(out error);
            if (h == 0) return Result.Failed;
            try
            {
                int w, ht, subsamp;
                if (tjDecompressHeader3(h, src, size, &w, &ht, &subsamp, &colorspace) != 0 && tjGetErrorCode(h) != TjerrWarning)
                {
                    error = ErrorOf(h);
                    return Result.Failed;
                }
                if (w != header.Width || ht != header.Height) return Result.NotHandled;
            }
            finally
            {
                _ = tjDestroy(h);
            }
            if (colorspace is (TjcsYCbCr or TjcsGray) && header.Components != 4)
            {
                fixed (byte* dst = destination) return Decompress(src, size, dst, header, TjpfRgb, 3, out error);
            }
            if (colorspace is not (TjcsCmyk or TjcsYcck) || header.Components != 4 || header.PixelCount * 4 > Array.MaxLength)
                return Result.NotHandled;
            // Pillow reads 4-channel JPEGs as Adobe-inverted CMYK ("CMYK;I") and converts that to RGB.
            var cmykBytes = (int)header.PixelCount * 4;
            var cmyk = ArrayPool<byte>.Shared.Rent(cmykBytes);
            try
            {
                Result r;
                fixed (byte* c = cmyk) r = Decompress(src, size, c, header, TjpfCmyk, 4, out error);
                if (r == Result.Decoded) InvertedCmykToRgb(cmyk.AsSpan(0, cmykBytes), destination);
                return r;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(cmyk);
            }
        }
    }

    /// <summary>Pillow's <c>convert('RGB')</c> of a "CMYK;I" image given libjpeg's CMYK bytes: with c' = 255 − c
    /// (the inverted raw mode), R = nk − c'·nk/255 rounded as Pillow's MULDIV255, where nk = 255 − k' = k.</summary>
    private static void InvertedCmykToRgb(ReadOnlySpan<byte> cmyk, Span<byte> rgb)
    {
        for (int i = 0, o = 0; i < cmyk.Length; i += 4, o += 3)
        {
            int nk = cmyk[i + 3];
            rgb[o] = (byte)(nk - MulDiv255(255 - cmyk[i], nk));
            rgb[o + 1] = (byte)(nk - MulDiv255(255 - cmyk[i + 1], nk));
            rgb[o + 2] = (byte)(nk - MulDiv255(255 - cmyk[i + 2], nk));
        }

        static int MulDiv255(int a, int b)
        {
            int t = a * b + 128;
            return ((t >> 8) + t) >> 8;
        }
    }

    /// <summary>
    /// Decompresses into <paramref name="dst"/> in <paramref name="pixelFormat"/>, stopping at the first warning; an
    /// image with warnings is decoded again without stopping (<see cref="DecodeThroughWarnings"/>).
    /// </summary>
    private static Result Decompress(byte* src, CULong size, byte* dst, in ImageHeader header, int pixelFormat, int bytesPerPixel,
        out string? error)
    {
        nint h = Init(out error);
        if (h == 0) return Result.Failed;
        try
        {
            int pitch = header.Width * bytesPerPixel;
            if (tjDecompress2(h, src, size, dst, header.Width, pitch, header.Height, pixelFormat, TjflagStopOnWarning) == 0)
                return Result.Decoded;
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
        return DecodeThroughWarnings(src, size, dst, header, pixelFormat, bytesPerPixel, out error);
    }

    /// <summary>
    /// The image has warnings: decode again without stopping on them. TurboJPEG reports "warning" for any failure that
    /// follows a warning, fatal or not, so the error code cannot tell a recovered image from a broken one; the message
    /// can: libjpeg writes the message only for the first warning and for the fatal error, so the message is still the
    /// first warning's (the one the stopping pass saw) exactly when no fatal error followed.
    /// </summary>
    private static Result DecodeThroughWarnings(byte* src, CULong size, byte* dst, in ImageHeader header, int pixelFormat,
        int bytesPerPixel, out string? error)
    {
        Span<byte> firstWarning = stackalloc byte[MessageMax];
        int firstLength = CopyMessage(tjGetErrorStr2(0), firstWarning);
        nint h = Init(out error);
        if (h == 0) return Result.Failed;
        try
        {
            if (tjDecompress2(h, src, size, dst, header.Width, header.Width * bytesPerPixel, header.Height, pixelFormat, 0) == 0)
                return Result.Decoded;
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
