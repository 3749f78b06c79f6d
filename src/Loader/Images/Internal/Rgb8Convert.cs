using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>Row converters from SkiaSharp's decode layouts to RGB8, following Pillow's <c>convert('RGB')</c>.</summary>
internal static class Rgb8Convert
{
    /// <summary>RGBA8 (unpremultiplied) → RGB8: alpha dropped, not composited (Pillow's rgba2rgb).</summary>
    public static void RgbaToRgb(ReadOnlySpan<byte> src, Span<byte> dst, int pixels)
    {
        if (src.Length < pixels * 4 || dst.Length < pixels * 3) throw new ArgumentException("row buffers too small");
        ref byte s = ref MemoryMarshal.GetReference(src);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        int x = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<byte> shuffle = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);
            // Each step reads 4 pixels (16 bytes) and stores 16 bytes of which 12 are valid; the next store overwrites
            // the 4 spare bytes, so stop while a full 16-byte store still fits in dst.
            while (x + 4 <= pixels && x * 3 + 16 <= dst.Length)
            {
                Vector128<byte> v = Vector128.LoadUnsafe(ref s, (nuint)(x * 4));
                Vector128.Shuffle(v, shuffle).StoreUnsafe(ref d, (nuint)(x * 3));
                x += 4;
            }
        }
        for (; x < pixels; x++)
        {
            Unsafe.Add(ref d, x * 3) = Unsafe.Add(ref s, x * 4);
            Unsafe.Add(ref d, x * 3 + 1) = Unsafe.Add(ref s, x * 4 + 1);
            Unsafe.Add(ref d, x * 3 + 2) = Unsafe.Add(ref s, x * 4 + 2);
        }
    }

    /// <summary>Gray8 → RGB8: the value is replicated (Pillow's l2rgb).</summary>
    public static void GrayToRgb(ReadOnlySpan<byte> src, Span<byte> dst, int pixels)
    {
        if (src.Length < pixels || dst.Length < pixels * 3) throw new ArgumentException("row buffers too small");
        for (int x = 0; x < pixels; x++)
        {
            byte g = src[x];
            dst[x * 3] = g;
            dst[x * 3 + 1] = g;
            dst[x * 3 + 2] = g;
        }
    }
}
