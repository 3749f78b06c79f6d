namespace NanoVlm.Loader.Images;

/// <summary>Why an image could not be probed or decoded (see <see cref="ImageDecodeException.Reason"/>).</summary>
public enum ImageDecodeFailure
{
    /// <summary>The input has zero bytes.</summary>
    Empty = 1,

    /// <summary>The first bytes match none of JPEG, PNG, WebP, BMP or GIF.</summary>
    UnknownFormat,

    /// <summary>The bytes are malformed (bad header, bad marker, bad compressed data, zero width or height).</summary>
    Corrupt,

    /// <summary>The input ends before the header or the pixel data is complete.</summary>
    Truncated,

    /// <summary>The image has more pixels than <see cref="ImageDecoderOptions.MaxPixels"/> allows, or its RGB8 size does not fit in memory.</summary>
    TooLarge,

    /// <summary>A recognised format uses a feature the decoder does not handle (for example a JPEG whose height is set by a DNL marker).</summary>
    Unsupported,

    /// <summary>The caller's destination buffer is smaller than <see cref="ImageHeader.Rgb8ByteCount"/>.</summary>
    DestinationTooSmall,
}
