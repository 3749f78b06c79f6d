namespace NanoVlm.Loader.Images;

/// <summary>Container format of an encoded image, as recognised from its first bytes.</summary>
public enum ImageFormat
{
    /// <summary>Not one of the supported formats.</summary>
    Unknown = 0,

    /// <summary>JPEG (JFIF/EXIF; baseline, extended, progressive, arithmetic).</summary>
    Jpeg,

    /// <summary>PNG (all bit depths and colour types, interlaced or not).</summary>
    Png,

    /// <summary>WebP (lossy VP8, lossless VP8L, extended VP8X).</summary>
    WebP,

    /// <summary>Windows/OS2 bitmap.</summary>
    Bmp,

    /// <summary>GIF 87a/89a (only the first frame is decoded).</summary>
    Gif,
}
