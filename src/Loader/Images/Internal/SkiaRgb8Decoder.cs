using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// The SkiaSharp decode: SKCodec over the caller's bytes (pinned, not copied), destination colour space null (no
/// ICC / gamma conversion), unpremultiplied alpha (RGB of transparent pixels kept), no EXIF orientation (SKCodec never
/// applies it; SKBitmap.Decode is not used), then a row conversion to RGB8.
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
            using SKData skData = SKData.Create((IntPtr)p, data.Length);
            using SKMemoryStream stream = new(skData);
            using SKCodec? codec = SKCodec.Create(stream, out SKCodecResult createResult);
            if (codec is null) throw Fail(name, createResult, header.Format, "the codec could not read the header");

            SKImageInfo ci = codec.Info;
            if (ci.Width != w || ci.Height != h)
            {
                throw new ImageDecodeException(name, ImageDecodeFailure.Corrupt,
                    $"{header.Format} header says {w}x{h} but the codec reads {ci.Width}x{ci.Height}");
            }

            Layout layout = ChooseLayout(ci);
            SKColorType ct = layout switch
            {
                Layout.Rgba8 => SKColorType.Rgba8888,
                _ => SKColorType.Gray8,
            };
            int bpp = layout == Layout.Rgba8 ? 4 : 1;
            SKAlphaType at = layout == Layout.Rgba8 ? SKAlphaType.Unpremul : SKAlphaType.Opaque;
            var info = new SKImageInfo(w, h, ct, at, null);
            int rowBytes = checked(w * bpp);

            int fill = -1;
            if (header.Format == ImageFormat.Gif && layout == Layout.Rgba8 && GifFrame0.TryGetFillColor(data, out int rgb))
            {
                fill = rgb;
            }

            SKCodecResult r = codec.StartScanlineDecode(info);
            if (r == SKCodecResult.Success && codec.ScanlineOrder == SKCodecScanlineOrder.TopDown)
            {
                DecodeScanlines(codec, layout, w, h, rowBytes, destination, name, header.Format);
            }
            else
            {
                DecodeFullFrame(codec, info, layout, w, h, rowBytes, destination, name, header.Format, fill);
            }

            int greenBits = Bmp16.GreenBits(data, header);
            if (greenBits != 0) Bmp16.ToPillow(destination[..(w * h * 3)], greenBits);
        }
    }

    /// <summary>
    /// Gray8 for gray sources (JPEG grayscale, PNG L / 1-bit), RGBA8 unpremultiplied for everything else. 16-bit
    /// RGB/RGBA/LA PNG: SkiaSharp strips each sample to its high byte, exactly what Pillow's ";16B" unpackers do
    /// (16-bit gray goes to PngGray16Decoder instead).
    /// </summary>
    private static Layout ChooseLayout(SKImageInfo codecInfo) =>
        codecInfo.ColorType == SKColorType.Gray8 ? Layout.Gray8 : Layout.Rgba8;

    private static void DecodeScanlines(SKCodec codec, Layout layout, int w, int h, int rowBytes,
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
                    int got = codec.GetScanlines((IntPtr)rp, count, rowBytes);
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

    private static void DecodeFullFrame(SKCodec codec, SKImageInfo info, Layout layout, int w, int h, int rowBytes,
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
                SKCodecResult r = codec.GetPixels(info, (IntPtr)buf, rowBytes, SKCodecOptions.Default);
                if (r != SKCodecResult.Success) throw Fail(name, r, format, "pixel data");
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

    private static ImageDecodeException Fail(string name, SKCodecResult r, ImageFormat format, string what) => r switch
    {
        SKCodecResult.IncompleteInput => new ImageDecodeException(name, ImageDecodeFailure.Truncated,
            $"{format} {what}: the input ends early"),
        SKCodecResult.Unimplemented or SKCodecResult.InvalidConversion or SKCodecResult.InvalidScale =>
            new ImageDecodeException(name, ImageDecodeFailure.Unsupported, $"{format} {what}: {r}"),
        _ => new ImageDecodeException(name, ImageDecodeFailure.Corrupt, $"{format} {what}: {r}"),
    };
}
