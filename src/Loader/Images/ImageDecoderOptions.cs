using NanoVlm.Kernels;

namespace NanoVlm.Loader.Images;

/// <summary>Limits applied by <see cref="ImageDecoder"/> before any pixel is decoded.</summary>
/// <remarks>
/// The pixel limit has one source of truth for the whole image path: <see cref="ImagePipelineOptions.DefaultMaxPixels"/>
/// (2 × Pillow's <c>MAX_IMAGE_PIXELS</c>, where Pillow raises <c>DecompressionBombError</c>). The decoder and the
/// kernels share that default, and <see cref="ImagePreprocessor"/> sets its decoder's limit from
/// <see cref="ImagePipelineOptions.MaxPixels"/>, so one value configures both.
/// </remarks>
public sealed record ImageDecoderOptions
{
    /// <summary>Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485); Pillow only warns above it. Same value as
    /// <see cref="ImagePipelineOptions.PillowMaxImagePixels"/>.</summary>
    public const long PillowMaxImagePixels = ImagePipelineOptions.PillowMaxImagePixels;

    /// <summary>The default <see cref="MaxPixels"/>: <see cref="ImagePipelineOptions.DefaultMaxPixels"/> (2 × 89,478,485 = 178,956,970).</summary>
    public const long DefaultMaxPixels = ImagePipelineOptions.DefaultMaxPixels;

    /// <summary>Default options (<see cref="MaxPixels"/> = <see cref="DefaultMaxPixels"/>).</summary>
    public static ImageDecoderOptions Default { get; } = new();

    /// <summary>
    /// Largest accepted width·height; an image with more pixels fails with <see cref="ImageDecodeFailure.TooLarge"/>
    /// from its header alone (decompression-bomb guard). Must be positive. The default accepts exactly what Pillow
    /// accepts (it raises only above 2 × <see cref="PillowMaxImagePixels"/>).
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>
    /// The JPEG decoder: <see cref="JpegBackend.Auto"/> (the default) uses the system TurboJPEG library when it is
    /// installed and SkiaSharp otherwise; <see cref="ImageDecoder.JpegBackend"/> says which one a decoder uses.
    /// </summary>
    public JpegBackend JpegDecoder { get; init; } = JpegBackend.Auto;
}
