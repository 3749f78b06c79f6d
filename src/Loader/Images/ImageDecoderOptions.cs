namespace NanoVlm.Loader.Images;

/// <summary>Limits applied by <see cref="ImageDecoder"/> before any pixel is decoded.</summary>
public sealed record ImageDecoderOptions
{
    /// <summary>Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485 = 1024·1024·1024 / 4 / 3), the default <see cref="MaxPixels"/>.</summary>
    public const long PillowMaxImagePixels = 89_478_485;

    /// <summary>Default options (<see cref="MaxPixels"/> = <see cref="PillowMaxImagePixels"/>).</summary>
    public static ImageDecoderOptions Default { get; } = new();

    /// <summary>
    /// Largest accepted width·height; an image with more pixels fails with <see cref="ImageDecodeFailure.TooLarge"/>
    /// from its header alone (decompression-bomb guard). Must be positive.
    /// </summary>
    public long MaxPixels { get; init; } = PillowMaxImagePixels;
}
