namespace NanoVlm.Loader.Images;

/// <summary>Which library <see cref="ImageDecoder"/> decodes JPEGs with (<see cref="ImageDecoderOptions.JpegDecoder"/>).</summary>
/// <remarks>
/// On intact JPEGs both produce the same bytes as Pillow's <c>Image.open(f).convert('RGB')</c> (the decode tests run
/// over both). The system TurboJPEG library is libjpeg-turbo built with its SIMD code (on Debian the same libjpeg-turbo
/// 2.1.5 that Pillow links); the libjpeg-turbo inside SkiaSharp's linux-x64 native library is built without it and is
/// about 1.5–2× slower on large photos. On damaged JPEGs only TurboJPEG follows Pillow: SkiaSharp recovers from
/// corrupt data differently and keeps some images Pillow rejects (tests/fixtures/decode/jpeg_fuzz.tsv).
/// </remarks>
public enum JpegBackend
{
    /// <summary>
    /// <see cref="TurboJpeg"/> when the system library <c>libturbojpeg.so.0</c> loads (Debian/Ubuntu package
    /// <c>libturbojpeg0</c>), otherwise <see cref="Skia"/>. The environment variable <c>NANOVLM_JPEG_DECODER</c> =
    /// <c>skia</c> or <c>turbojpeg</c> overrides the choice for every decoder created with <see cref="Auto"/>.
    /// </summary>
    Auto = 0,

    /// <summary>
    /// The system TurboJPEG API (<c>libturbojpeg.so.0</c>) for baseline and progressive 8-bit JPEGs — YCbCr, gray, and
    /// CMYK/YCCK converted as Pillow's "CMYK;I" → RGB (accurate integer DCT, fancy upsampling: Pillow's defaults) —
    /// with Pillow's verdicts on damaged data: corrupt data libjpeg only warns about is decoded, a fatal libjpeg error
    /// is <see cref="ImageDecodeFailure.Corrupt"/>. Anything else goes through the SkiaSharp path. Creating a decoder
    /// with this value fails when the library cannot be loaded.
    /// </summary>
    TurboJpeg = 1,

    /// <summary>SkiaSharp's built-in libjpeg-turbo for every JPEG (no system library needed).</summary>
    Skia = 2,
}
