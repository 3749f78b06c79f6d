namespace NanoVlm.Loader.Images;

/// <summary>
/// What <see cref="ImageProbe"/> learns from an image's first bytes without decoding pixels: enough to plan packs
/// (width, height → resize grid, token count) and to size the RGB8 destination.
/// </summary>
/// <param name="Format">Container format.</param>
/// <param name="Width">Width in pixels (always positive for a successful probe).</param>
/// <param name="Height">Height in pixels (always positive for a successful probe).</param>
/// <param name="Components">
/// Stored channels: 1 gray or palette, 2 gray+alpha, 3 colour, 4 colour+alpha (or CMYK/YCCK for JPEG);
/// 0 when the header does not say (GIF, WebP lossy without VP8X). A palette image reports 1 and <see cref="IsPalette"/>.
/// </param>
/// <param name="BitsPerSample">Bits per stored sample (8 for JPEG/WebP/GIF; PNG 1..16; BMP bits per pixel / Components
/// is not meaningful so BMP reports its bits per pixel here).</param>
/// <param name="IsPalette">True for palette-indexed images (PNG colour type 3, GIF, BMP ≤ 8 bpp).</param>
/// <param name="HasAlpha">True when the header declares an alpha channel or transparency chunk that was seen
/// (PNG colour types 4/6, WebP VP8X alpha flag / VP8L alpha hint, BMP 32 bpp whose fourth byte may be alpha). Alpha is dropped by the RGB8 decode.</param>
/// <param name="IsProgressive">True for progressive JPEG (SOF2/6/10/14) and interlaced (Adam7) PNG.</param>
public readonly record struct ImageHeader(
    ImageFormat Format,
    int Width,
    int Height,
    int Components,
    int BitsPerSample,
    bool IsPalette,
    bool HasAlpha,
    bool IsProgressive)
{
    /// <summary>Width·Height.</summary>
    public long PixelCount => (long)Width * Height;

    /// <summary>Bytes of the RGB8 interleaved (HWC) decode: Width·Height·3.</summary>
    public long Rgb8ByteCount => PixelCount * 3;
}
