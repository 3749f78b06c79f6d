using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// The few functions of libSkiaSharp's C API (the <c>sk_*</c> exports SkiaSharp's own wrapper calls) that a decode
/// needs, bound without SkiaSharp's managed objects: an <c>SKData</c>, <c>SKMemoryStream</c> and <c>SKCodec</c> per
/// image each registered themselves in SkiaSharp's handle dictionaries, several hundred bytes of garbage per decode.
/// Here a decode is one native memory stream over the caller's pinned bytes and one codec, both plain pointers.
/// </summary>
/// <remarks>
/// <para>Declarations follow mono/skia's <c>include/c/sk_codec.h</c>, <c>include/c/sk_stream.h</c>,
/// <c>include/c/sk_colorspace.h</c> and <c>include/c/sk_types.h</c> of the fork that SkiaSharp 4.154.0 (pinned in
/// Directory.Packages.props) ships as libSkiaSharp; <c>src/c/sk_types_priv.h</c> there reinterprets
/// <c>sk_codec_options_t</c> as Skia's <c>SkCodec::Options</c> (<c>include/codec/SkCodec.h</c>), so the struct
/// below has that layout. SkiaSharp's generated binding for the same version (<c>SKImageInfoNative</c>,
/// <c>SKCodecOptionsInternal</c>, <c>SKColorTypeNative</c>) is compared with these layouts and values by
/// <c>SkiaNativeTests</c>, so a SkiaSharp upgrade that changes them fails a test instead of a decode.</para>
/// <para>The library name is SkiaSharp's (<c>libSkiaSharp</c>): the runtime resolves it through the app's deps.json
/// to the same <c>runtimes/&lt;rid&gt;/native/libSkiaSharp.so</c> of SkiaSharp.NativeAssets that SkiaSharp loads.</para>
/// <para>Ownership (mono/skia <c>src/c/sk_codec.cpp</c>): <see cref="sk_codec_new_from_stream"/> moves the stream
/// into a <c>std::unique_ptr</c>, so the stream belongs to the codec on success and is deleted on failure; the caller
/// destroys only the codec. <see cref="sk_codec_get_info"/> returns a colour space with a reference taken for the
/// caller (<c>ToImageInfo</c> releases an <c>sk_sp</c>), which must be unreferenced.</para>
/// </remarks>
internal static unsafe partial class SkiaNative
{
    private const string Library = "libSkiaSharp";

    /// <summary><c>sk_codec_result_t</c>; the names are SkiaSharp's <c>SKCodecResult</c>, which error messages show.</summary>
    public enum CodecResult
    {
        Success,
        IncompleteInput,
        ErrorInInput,
        InvalidConversion,
        InvalidScale,
        InvalidParameters,
        InvalidInput,
        CouldNotRewind,
        InternalError,
        Unimplemented,
    }

    /// <summary>The <c>sk_colortype_t</c> values this decoder uses (the enum's positions in sk_types.h).</summary>
    public enum ColorType
    {
        Rgba8888 = 4,
        Gray8 = 14,
    }

    /// <summary><c>sk_alphatype_t</c>.</summary>
    public enum AlphaType
    {
        Unknown,
        Opaque,
        Premul,
        Unpremul,
    }

    /// <summary><c>sk_codec_scanline_order_t</c>.</summary>
    public enum ScanlineOrder
    {
        TopDown,
        BottomUp,
    }

    /// <summary><c>sk_imageinfo_t</c>: colour space, width, height, colour type, alpha type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ImageInfo
    {
        public nint ColorSpace;
        public int Width;
        public int Height;
        public ColorType ColorType;
        public AlphaType AlphaType;
    }

    /// <summary><c>sk_codec_options_t</c> (= <c>SkCodec::Options</c>): zero-initialized flag (0 yes, 1 no), subset,
    /// frame index, prior frame, decode memory limit (0 none).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CodecOptions
    {
        public int ZeroInitialized;
        public nint Subset;
        public int FrameIndex;
        public int PriorFrame;
        public nuint MaxDecodeMemory;

        /// <summary>SkiaSharp's <c>SKCodecOptions.Default</c> (and <c>SkCodec::Options()</c>): not zero-initialized,
        /// no subset, frame 0, no prior frame, no memory limit.</summary>
        public static CodecOptions Default => new() { ZeroInitialized = 1, PriorFrame = -1 };
    }

    /// <summary>A memory stream over <paramref name="length"/> bytes at <paramref name="data"/>; with
    /// <paramref name="copyData"/> 0 the bytes are not copied and must outlive the stream.</summary>
    [LibraryImport(Library)]
    public static partial nint sk_memorystream_new_with_data(void* data, nuint length, byte copyData);

    /// <summary>A codec reading <paramref name="stream"/>, or 0 with the reason in <paramref name="result"/>; takes
    /// the stream in both cases.</summary>
    [LibraryImport(Library)]
    public static partial nint sk_codec_new_from_stream(nint stream, CodecResult* result);

    [LibraryImport(Library)]
    public static partial void sk_codec_destroy(nint codec);

    [LibraryImport(Library)]
    public static partial void sk_codec_get_info(nint codec, ImageInfo* info);

    [LibraryImport(Library)]
    public static partial void sk_colorspace_unref(nint colorSpace);

    [LibraryImport(Library)]
    public static partial CodecResult sk_codec_start_scanline_decode(nint codec, ImageInfo* info, CodecOptions* options);

    [LibraryImport(Library)]
    public static partial int sk_codec_get_scanlines(nint codec, void* dst, int countLines, nuint rowBytes);

    [LibraryImport(Library)]
    public static partial ScanlineOrder sk_codec_get_scanline_order(nint codec);

    [LibraryImport(Library)]
    public static partial CodecResult sk_codec_get_pixels(nint codec, ImageInfo* info, void* pixels, nuint rowBytes, CodecOptions* options);
}
