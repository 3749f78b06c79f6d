using System.Buffers;
using NanoVlm.Loader.Images.Internal;

namespace NanoVlm.Loader.Images;

/// <summary>
/// Decodes JPEG, PNG, WebP, BMP and GIF (first frame) to RGB8 interleaved (HWC) bytes the way Pillow's
/// <c>Image.open(f).convert('RGB')</c> does: gray replicated, palette looked up, alpha dropped (not composited,
/// decoded unpremultiplied so transparent pixels keep their RGB), 16-bit PNG reduced as Pillow 9.4 does, no ICC or
/// gamma conversion, no EXIF rotation. Immutable and thread-safe: one instance can serve any number of decode workers.
/// </summary>
/// <remarks>
/// Every failure on bad input is an <see cref="ImageDecodeException"/> naming the input and the
/// <see cref="ImageDecodeFailure"/>; a truncated or corrupt image is never returned as a partial success.
/// The header is probed first (<see cref="ImageProbe"/>), so size limits are enforced before any pixel is decoded.
/// JPEGs are decoded with the system TurboJPEG library when it is installed (<see cref="JpegBackend"/>), everything
/// else with SkiaSharp.
/// </remarks>
public sealed class ImageDecoder
{
    /// <summary>Creates a decoder.</summary>
    /// <param name="options">Limits; null for <see cref="ImageDecoderOptions.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ImageDecoderOptions.MaxPixels"/> is not positive, or
    /// <see cref="ImageDecoderOptions.JpegDecoder"/> is not a defined value.</exception>
    /// <exception cref="DllNotFoundException"><see cref="ImageDecoderOptions.JpegDecoder"/> (or, for
    /// <see cref="JpegBackend.Auto"/>, the environment variable <c>NANOVLM_JPEG_DECODER</c>) asks for
    /// <see cref="JpegBackend.TurboJpeg"/> and <c>libturbojpeg.so.0</c> cannot be loaded.</exception>
    public ImageDecoder(ImageDecoderOptions? options = null)
    {
        Options = options ?? ImageDecoderOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Options.MaxPixels, nameof(options));
        JpegBackend = Resolve(Options.JpegDecoder);
    }

    /// <summary>True when the system TurboJPEG library (<c>libturbojpeg.so.0</c>, Debian package <c>libturbojpeg0</c>)
    /// loads; probed once, on first use.</summary>
    public static bool IsTurboJpegAvailable => TurboJpeg.IsAvailable;

    /// <summary>The JPEG decoder this instance uses: <see cref="JpegBackend.TurboJpeg"/> or <see cref="JpegBackend.Skia"/>
    /// (never <see cref="JpegBackend.Auto"/>).</summary>
    public JpegBackend JpegBackend { get; }

    /// <summary>A shared decoder with the default options.</summary>
    public static ImageDecoder Default { get; } = new();

    /// <summary>The limits this decoder enforces.</summary>
    public ImageDecoderOptions Options { get; }

    /// <summary>Probes the header and checks it against <see cref="Options"/> without decoding pixels.</summary>
    /// <param name="data">The encoded image.</param>
    /// <param name="name">Name of the input for error messages, e.g. "shard-00001.parquet row 17 image 0".</param>
    /// <returns>The header; <see cref="ImageHeader.Rgb8ByteCount"/> is the destination size to provide.</returns>
    /// <exception cref="ImageDecodeException">Bad header or more than <see cref="ImageDecoderOptions.MaxPixels"/> pixels.</exception>
    public ImageHeader ProbeChecked(ReadOnlySpan<byte> data, string name)
    {
        ImageHeader header = ImageProbe.Probe(data, name);
        if (header.PixelCount > Options.MaxPixels)
        {
            throw new ImageDecodeException(name, ImageDecodeFailure.TooLarge,
                $"{header.Width}x{header.Height} = {header.PixelCount} pixels exceeds the limit of {Options.MaxPixels}");
        }
        if (header.Rgb8ByteCount > Array.MaxLength)
        {
            throw new ImageDecodeException(name, ImageDecodeFailure.TooLarge,
                $"{header.Width}x{header.Height} needs {header.Rgb8ByteCount} bytes of RGB8, more than one buffer can hold");
        }
        return header;
    }

    /// <summary>Decodes into a buffer rented from <see cref="ArrayPool{T}.Shared"/>; dispose the result to return it.</summary>
    /// <param name="data">The encoded image.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <returns>The decoded image (owns the rented buffer).</returns>
    /// <exception cref="ImageDecodeException">The input is empty, unknown, corrupt, truncated, unsupported or too large.</exception>
    public DecodedImage DecodeRgb8(ReadOnlySpan<byte> data, string name)
    {
        ImageHeader header = ProbeChecked(data, name);
        CheckComplete(data, header, name);
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)header.Rgb8ByteCount);
        try
        {
            DecodeCore(data, header, buffer, name);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        return new DecodedImage(header, buffer);
    }

    /// <summary>
    /// Decodes into the caller's buffer (for example the pinned slab of the pack the image belongs to): the first
    /// <see cref="ImageHeader.Rgb8ByteCount"/> bytes receive the RGB8 pixels. No managed allocation of pixel-sized
    /// buffers; on failure the destination content is unspecified.
    /// </summary>
    /// <param name="data">The encoded image.</param>
    /// <param name="destination">At least Width·Height·3 bytes (size it from <see cref="ProbeChecked"/>).</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <returns>The header of the decoded image.</returns>
    /// <exception cref="ImageDecodeException">Bad input, too large, or <paramref name="destination"/> too small
    /// (<see cref="ImageDecodeFailure.DestinationTooSmall"/>).</exception>
    public ImageHeader DecodeRgb8(ReadOnlySpan<byte> data, Span<byte> destination, string name)
    {
        ImageHeader header = ProbeChecked(data, name);
        if (destination.Length < header.Rgb8ByteCount)
        {
            throw new ImageDecodeException(name, ImageDecodeFailure.DestinationTooSmall,
                $"{header.Width}x{header.Height} needs {header.Rgb8ByteCount} bytes, the destination has {destination.Length}");
        }
        CheckComplete(data, header, name);
        DecodeCore(data, header, destination, name);
        return header;
    }

    private void DecodeCore(ReadOnlySpan<byte> data, in ImageHeader header, Span<byte> destination, string name)
    {
        if (header.Format == ImageFormat.Png && header.BitsPerSample == 16 && header.Components == 1)
        {
            PngGray16Decoder.Decode(data, header, destination, name); // Pillow mode "I": see PngGray16Decoder
            return;
        }
        if (header.Format == ImageFormat.Jpeg && JpegBackend == JpegBackend.TurboJpeg)
        {
            switch (TurboJpeg.TryDecode(data, header, destination, out string? turboError))
            {
                case TurboJpeg.Result.Decoded:
                    return;
                case TurboJpeg.Result.Failed:
                    // libjpeg's fatal error is Pillow's verdict too ("broken data stream"); SkiaSharp's decoder is more
                    // lenient and would keep images Pillow rejects (tests/fixtures/decode/jpeg_fuzz.tsv).
                    throw new ImageDecodeException(name, ImageDecodeFailure.Corrupt, turboError!);
            }
        }
        SkiaRgb8Decoder.Decode(data, header, destination, name);
    }

    private static JpegBackend Resolve(JpegBackend requested)
    {
        if (requested == JpegBackend.Auto)
        {
            string? env = Environment.GetEnvironmentVariable("NANOVLM_JPEG_DECODER");
            if (string.Equals(env, "skia", StringComparison.OrdinalIgnoreCase)) return JpegBackend.Skia;
            if (string.Equals(env, "turbojpeg", StringComparison.OrdinalIgnoreCase)) requested = JpegBackend.TurboJpeg;
            else return TurboJpeg.IsAvailable ? JpegBackend.TurboJpeg : JpegBackend.Skia;
        }
        if (requested == JpegBackend.TurboJpeg && !TurboJpeg.IsAvailable)
        {
            throw new DllNotFoundException(
                $"JpegBackend.TurboJpeg needs {TurboJpeg.LibraryName} (Debian/Ubuntu: apt-get install libturbojpeg0)");
        }
        if (requested is not (JpegBackend.TurboJpeg or JpegBackend.Skia))
        {
            throw new ArgumentOutOfRangeException(nameof(requested), requested, "not a JpegBackend value");
        }
        return requested;
    }

    private static void CheckComplete(ReadOnlySpan<byte> data, in ImageHeader header, string name)
    {
        if (Completeness.IsTruncated(data, header))
        {
            throw new ImageDecodeException(name, ImageDecodeFailure.Truncated,
                $"{header.Format} data ends early ({data.Length} bytes){(header.Format == ImageFormat.Jpeg ? ": no EOI marker after the scan" : "")}");
        }
    }
}
