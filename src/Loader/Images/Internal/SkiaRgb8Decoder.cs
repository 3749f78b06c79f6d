using System.Buffers;
using System.Runtime.InteropServices;
using static NanoVlm.Loader.Images.Internal.SkiaNative;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// The SkiaSharp decode: an SkCodec over the caller's bytes (pinned, not copied), destination colour space null (no
/// ICC / gamma conversion), unpremultiplied alpha (RGB of transparent pixels kept), no EXIF orientation (SkCodec never
/// applies it), then a row conversion to RGB8. Calls libSkiaSharp's C API directly (<see cref="SkiaNative"/>), so a
/// decode allocates no managed object.
/// </summary>
internal static unsafe class SkiaRgb8Decoder
{
    /// <summary>Target bytes per scanline batch (the row buffer stays in L2).</summary>
    private const int BatchBytes = 256 * 1024;

    /// <summary>Temporary full-frame buffers above this size come from native memory, not the shared array pool.</summary>
    private const long PooledTempLimit = 64L * 1024 * 1024;

    private enum Layout
    {
        Rgba8,
        Gray8,
    }

    public static void Decode(ReadOnlySpan<byte> data, in ImageHeader header, Span<byte> destination, string name)
    {
        int w = header.Width, h = header.Height;
        fixed (byte* p = data)
        {
            nint codec = OpenCodec(p, data.Length, header.Format, name);
            try
            {
                ImageInfo ci = CodecInfo(codec);
                if (ci.Width != w || ci.Height != h)
                {
                    throw new ImageDecodeException(name, ImageDecodeFailure.Corrupt,
                        $"{header.Format} header says {w}x{h} but the codec reads {ci.Width}x{ci.Height}");
                }

                Layout layout = ChooseLayout(ci);
                int bpp = layout == Layout.Rgba8 ? 4 : 1;
                var info = new ImageInfo
                {
                    ColorSpace = 0,
                    Width = w,
                    Height = h,
                    ColorType = layout == Layout.Rgba8 ? ColorType.Rgba8888 : ColorType.Gray8,
                    AlphaType = layout == Layout.Rgba8 ? AlphaType.Unpremul : AlphaType.Opaque,
                };
                int rowBytes = checked(w * bpp);

                int fill = -1;
                if (header.Format == ImageFormat.Gif && layout == Layout.Rgba8 && GifFrame0.TryGetFillColor(data, out int rgb))
                {
                    fill = rgb;
                }

                // Null options, as SkiaSharp's SKCodec.StartScanlineDecode(SKImageInfo) passes.
                CodecResult r = sk_codec_start_scanline_decode(codec, &info, null);
                if (r == CodecResult.Success && sk_codec_get_scanline_order(codec) == ScanlineOrder.TopDown)
                {
                    DecodeScanlines(codec, layout, w, h, rowBytes, destination, name, header.Format);
                }
                else
                {
                    DecodeFullFrame(codec, info, layout, w, h, rowBytes, destination, name, header.Format, fill);
                }
            }
            finally
            {
                sk_codec_destroy(codec);
            }

            int greenBits = Bmp16.GreenBits(data, header);
            if (greenBits != 0) Bmp16.ToPillow(destination[..(w * h * 3)], greenBits);
        }
    }

    /// <summary>A codec over <paramref name="length"/> bytes at <paramref name="data"/> (not copied: they must stay
    /// pinned until the codec is destroyed). The stream goes to the codec, which deletes it, also when it fails.</summary>
    private static nint OpenCodec(byte* data, int length, ImageFormat format, string name)
    {
        nint stream = sk_memorystream_new_with_data(data, (nuint)length, copyData: 0);
        if (stream == 0) throw new OutOfMemoryException("libSkiaSharp could not create a memory stream");
        CodecResult result = CodecResult.InternalError;
        nint codec = sk_codec_new_from_stream(stream, &result);
        if (codec == 0) throw Fail(name, result, format, "the codec could not read the header");
        return codec;
    }

    /// <summary>The codec's own image info; the colour space reference it hands out is dropped at once.</summary>
    private static ImageInfo CodecInfo(nint codec)
    {
        ImageInfo ci;
        sk_codec_get_info(codec, &ci);
        if (ci.ColorSpace != 0) sk_colorspace_unref(ci.ColorSpace);
        ci.ColorSpace = 0;
        return ci;
    }

    /// <summary>
    /// Gray8 for gray sources (JPEG grayscale, PNG L / 1-bit), RGBA8 unpremultiplied for everything else. 16-bit
    /// RGB/RGBA/LA PNG: SkiaSharp strips each sample to its high byte, exactly what Pillow's ";16B" unpackers do
    /// (16-bit gray goes to PngGray16Decoder instead).
    /// </summary>
    private static Layout ChooseLayout(in ImageInfo codecInfo) =>
        codecInfo.ColorType == ColorType.Gray8 ? Layout.Gray8 : Layout.Rgba8;

    private static void DecodeScanlines(nint codec, Layout layout, int w, int h, int rowBytes,
        Span<byte> destination, string name, ImageFormat format)
    {
        int batch = Math.Clamp(BatchBytes / rowBytes, 1, h);
        byte[] rows = ArrayPool<byte>.Shared.Rent(checked(batch * rowBytes));
        try
        {
            fixed (byte* rp = rows)
            {
                int dstRow = w * 3;
                for (int y = 0; y < h; y += batch)
                {
                    int count = Math.Min(batch, h - y);
                    int got = sk_codec_get_scanlines(codec, rp, count, (nuint)rowBytes);
                    if (got != count)
                    {
                        throw new ImageDecodeException(name, ImageDecodeFailure.Truncated,
                            $"{format} pixel data ends at row {y + got} of {h}");
                    }
                    for (int i = 0; i < count; i++)
                    {
                        ConvertRow(layout, rows.AsSpan(i * rowBytes, rowBytes),
                            destination.Slice((y + i) * dstRow, dstRow), w);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rows);
        }
    }

    private static void DecodeFullFrame(nint codec, ImageInfo info, Layout layout, int w, int h, int rowBytes,
        Span<byte> destination, string name, ImageFormat format, int fill)
    {
        long size = (long)rowBytes * h;
        byte[]? pooled = null;
        byte* buf;
        if (size <= PooledTempLimit)
        {
            pooled = ArrayPool<byte>.Shared.Rent((int)size);
        }
        GCHandle pin = default;
        try
        {
            if (pooled is not null)
            {
                pin = GCHandle.Alloc(pooled, GCHandleType.Pinned);
                buf = (byte*)pin.AddrOfPinnedObject();
            }
            else
            {
                buf = (byte*)NativeMemory.Alloc((nuint)size);
            }
            try
            {
                CodecOptions options = CodecOptions.Default; // SkiaSharp's SKCodecOptions.Default
                CodecResult r = sk_codec_get_pixels(codec, &info, buf, (nuint)rowBytes, &options);
                if (r != CodecResult.Success) throw Fail(name, r, format, "pixel data");
                int dstRow = w * 3;
                for (int y = 0; y < h; y++)
                {
                    var src = new ReadOnlySpan<byte>(buf + (long)y * rowBytes, rowBytes);
                    Span<byte> dst = destination.Slice(y * dstRow, dstRow);
                    ConvertRow(layout, src, dst, w);
                    if (fill >= 0) FillTransparent(src, dst, w, fill);
                }
            }
            finally
            {
                if (pooled is null) NativeMemory.Free(buf);
            }
        }
        finally
        {
            if (pin.IsAllocated) pin.Free();
            if (pooled is not null) ArrayPool<byte>.Shared.Return(pooled);
        }
    }

    private static void ConvertRow(Layout layout, ReadOnlySpan<byte> src, Span<byte> dst, int w)
    {
        switch (layout)
        {
            case Layout.Rgba8: Rgb8Convert.RgbaToRgb(src, dst, w); break;
            default: Rgb8Convert.GrayToRgb(src, dst, w); break;
        }
    }

    /// <summary>Pixels with alpha 0 get <paramref name="rgb"/> (see <see cref="GifFrame0"/>).</summary>
    private static void FillTransparent(ReadOnlySpan<byte> rgba, Span<byte> dst, int w, int rgb)
    {
        for (int x = 0; x < w; x++)
        {
            if (rgba[x * 4 + 3] != 0) continue;
            dst[x * 3] = (byte)(rgb >> 16);
            dst[x * 3 + 1] = (byte)(rgb >> 8);
            dst[x * 3 + 2] = (byte)rgb;
        }
    }

    private static ImageDecodeException Fail(string name, CodecResult r, ImageFormat format, string what) => r switch
    {
        CodecResult.IncompleteInput => new ImageDecodeException(name, ImageDecodeFailure.Truncated,
            $"{format} {what}: the input ends early"),
        CodecResult.Unimplemented or CodecResult.InvalidConversion or CodecResult.InvalidScale =>
            new ImageDecodeException(name, ImageDecodeFailure.Unsupported, $"{format} {what}: {r}"),
        _ => new ImageDecodeException(name, ImageDecodeFailure.Corrupt, $"{format} {what}: {r}"),
    };
}
