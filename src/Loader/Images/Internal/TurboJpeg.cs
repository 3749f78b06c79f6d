using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// JPEG decode through the system TurboJPEG API (<c>libturbojpeg.so.0</c>, libjpeg-turbo with SIMD): straight into
/// the caller's RGB8 buffer, no intermediate frame. TurboJPEG catches libjpeg's <c>longjmp</c> itself and returns -1,
/// so no C shim is needed. Flags 0 = accurate integer DCT (JDCT_ISLOW) and fancy upsampling, the libjpeg defaults
/// Pillow decodes with; TJPF_RGB replicates gray to RGB like Pillow's <c>convert('RGB')</c> of mode "L".
/// </summary>
/// <remarks>
/// One decompressor handle per thread, created on first use and destroyed (<c>tjDestroy</c>) by its finalizer when the
/// thread is gone. The library is probed once, lazily, with <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/>;
/// the <see cref="LibraryImportAttribute"/> stubs then bind to the same already-loaded library.
/// </remarks>
internal static unsafe partial class TurboJpeg
{
    public const string LibraryName = "libturbojpeg.so.0";

    private const int TjpfRgb = 0;
    private const int TjcsYCbCr = 1;
    private const int TjcsGray = 2;
    private const int TjerrWarning = 0;

    private static readonly Lazy<bool> s_available = new(Probe);

    [ThreadStatic]
    private static DecompressHandle? t_handle;

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

        /// <summary>TurboJPEG reported a warning or an error (the message is in the out parameter): the destination is
        /// unspecified, use the SkiaSharp path, whose verdict is the decoder's.</summary>
        Failed,
    }

    /// <summary>Decodes an 8-bit YCbCr or gray JPEG into <paramref name="destination"/> (Width·3 bytes per row).</summary>
    public static Result TryDecode(ReadOnlySpan<byte> data, in ImageHeader header, Span<byte> destination, out string? error)
    {
        error = null;
        if (header.BitsPerSample != 8 || header.Components is not (1 or 3)) return Result.NotHandled;
        DecompressHandle handle = t_handle ??= DecompressHandle.Create();
        nint h = handle.Value;
        try
        {
            var size = new CULong((nuint)data.Length);
            fixed (byte* src = data)
            fixed (byte* dst = destination)
            {
                int w, ht, subsamp, colorspace;
                if (tjDecompressHeader3(h, src, size, &w, &ht, &subsamp, &colorspace) != 0)
                {
                    error = ErrorOf(h);
                    return Result.Failed;
                }
                if (colorspace is not (TjcsYCbCr or TjcsGray) || w != header.Width || ht != header.Height) return Result.NotHandled;
                if (tjDecompress2(h, src, size, dst, w, checked(w * 3), ht, TjpfRgb, 0) != 0)
                {
                    // A warning (corrupt data that libjpeg recovered from, a premature end filled with grey) also lands here:
                    // the SkiaSharp path decides, so the verdicts stay the ones the decoder always gave.
                    error = ErrorOf(h);
                    return Result.Failed;
                }
            }
            return Result.Decoded;
        }
        finally
        {
            GC.KeepAlive(handle);
        }
    }

    private static string ErrorOf(nint h)
    {
        string kind = tjGetErrorCode(h) == TjerrWarning ? "warning" : "error";
        return $"TurboJPEG {kind}: {Marshal.PtrToStringUTF8(tjGetErrorStr2(h))}";
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(LibraryName, typeof(TurboJpeg).Assembly, null, out _))
        {
            return false;
        }
        try
        {
            t_handle ??= DecompressHandle.Create();
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Owns one <c>tjhandle</c>; the finalizer destroys it once its thread no longer references it.</summary>
    private sealed class DecompressHandle
    {
        private DecompressHandle(nint value) => Value = value;

        ~DecompressHandle() => _ = tjDestroy(Value);

        public nint Value { get; }

        public static DecompressHandle Create()
        {
            nint h = tjInitDecompress();
            if (h == 0) throw new InvalidOperationException($"tjInitDecompress failed: {Marshal.PtrToStringUTF8(tjGetErrorStr2(0))}");
            return new DecompressHandle(h);
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
    private static partial nint tjGetErrorStr2(nint handle);

    [LibraryImport(LibraryName)]
    private static partial int tjGetErrorCode(nint handle);

    [LibraryImport(LibraryName)]
    private static partial int tjDestroy(nint handle);
}
