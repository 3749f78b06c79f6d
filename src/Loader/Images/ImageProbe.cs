using NanoVlm.Loader.Images.Internal;

namespace NanoVlm.Loader.Images;

/// <summary>
/// Reads an image's format, size and channel layout from its first bytes without decoding pixels. Hand-written,
/// allocation-free parsers for JPEG (first SOFn after skipping APPn/DQT/DHT/…), PNG (IHDR), WebP (VP8 / VP8L / VP8X),
/// BMP (BITMAPCOREHEADER / BITMAPINFOHEADER and later) and GIF (logical screen descriptor). Thread-safe.
/// </summary>
/// <remarks>
/// The reported size is the size <see cref="ImageDecoder"/> produces and the size Pillow reports (for GIF the
/// logical screen, for WebP VP8X the canvas). A successful probe does not promise that the pixel data is intact;
/// the decoder still reports corrupt or truncated data.
/// </remarks>
public static class ImageProbe
{
    /// <summary>Recognises the container from its magic bytes only (at most 12 bytes are looked at).</summary>
    /// <param name="data">The encoded image, or at least its first 12 bytes.</param>
    /// <returns>The format, or <see cref="ImageFormat.Unknown"/>.</returns>
    public static ImageFormat DetectFormat(ReadOnlySpan<byte> data) => HeaderParser.Detect(data);

    /// <summary>Parses the header; never throws.</summary>
    /// <param name="data">The encoded image (a prefix that contains the header is enough).</param>
    /// <param name="header">The header on success, default otherwise.</param>
    /// <returns>True when the data starts with a supported, well-formed header with a positive size.</returns>
    public static bool TryProbe(ReadOnlySpan<byte> data, out ImageHeader header) =>
        HeaderParser.Parse(data, out header) == ProbeStatus.Ok;

    /// <summary>Parses the header or throws an <see cref="ImageDecodeException"/> that names the input and the reason.</summary>
    /// <param name="data">The encoded image (a prefix that contains the header is enough).</param>
    /// <param name="name">Name of the input for error messages, e.g. "shard-00001.parquet row 17 image 0".</param>
    /// <returns>The header.</returns>
    /// <exception cref="ImageDecodeException">Empty, unknown, corrupt, truncated or unsupported header.</exception>
    public static ImageHeader Probe(ReadOnlySpan<byte> data, string name)
    {
        ProbeStatus s = HeaderParser.Parse(data, out ImageHeader header);
        if (s != ProbeStatus.Ok) throw Fail(name, s, data);
        return header;
    }

    internal static ImageDecodeException Fail(string name, ProbeStatus s, ReadOnlySpan<byte> data)
    {
        ImageFormat f = HeaderParser.Detect(data);
        return s switch
        {
            ProbeStatus.Empty => new ImageDecodeException(name, ImageDecodeFailure.Empty, "the input has 0 bytes"),
            ProbeStatus.UnknownFormat => new ImageDecodeException(name, ImageDecodeFailure.UnknownFormat,
                $"the first bytes ({Convert.ToHexString(data[..Math.Min(8, data.Length)])}) match none of JPEG, PNG, WebP, BMP, GIF"),
            ProbeStatus.Truncated => new ImageDecodeException(name, ImageDecodeFailure.Truncated,
                $"{(f == ImageFormat.Unknown ? "the" : f.ToString())} header is incomplete ({data.Length} bytes)"),
            ProbeStatus.Unsupported => new ImageDecodeException(name, ImageDecodeFailure.Unsupported,
                $"unsupported {f} variant in the header"),
            _ => new ImageDecodeException(name, ImageDecodeFailure.Corrupt, $"malformed {f} header"),
        };
    }
}
