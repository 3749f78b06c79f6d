using System.Buffers.Binary;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// 16-bit BMP channel expansion: SkiaSharp widens an n-bit channel x to <c>round(x * 255 / (2^n - 1))</c> (SkMasks),
/// Pillow 9.4 to <c>x * 255 / (2^n - 1)</c> truncated (Unpack.c BGR;15 / BGR;16); they differ by one for about half
/// the values. Both are injective, so Skia's byte gives back x and a table gives Pillow's byte.
/// </summary>
internal static class Bmp16
{
    private static readonly byte[] Lut5 = BuildLut(5);
    private static readonly byte[] Lut6 = BuildLut(6);

    private static byte[] BuildLut(int bits)
    {
        var lut = new byte[256];
        int max = (1 << bits) - 1;
        for (int x = 0; x <= max; x++)
        {
            int skia = (x * 255 + max / 2) / max;
            lut[skia] = (byte)(x * 255 / max);
        }
        return lut;
    }

    /// <summary>Green-channel bits of a 16-bit BMP (6 for 5-6-5 bit fields, else 5), or 0 if not a 16-bit BMP.</summary>
    public static int GreenBits(ReadOnlySpan<byte> d, in ImageHeader h)
    {
        if (h.Format != ImageFormat.Bmp || h.BitsPerSample != 16 || d.Length < 34) return 0;
        uint dib = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        uint compression = dib >= 40 ? BinaryPrimitives.ReadUInt32LittleEndian(d[30..]) : 0;
        if (compression is 3 or 6 && d.Length >= 66)
        {
            uint g = BinaryPrimitives.ReadUInt32LittleEndian(d[58..]);
            return g == 0x07E0 ? 6 : 5;
        }
        return 5;
    }

    /// <summary>Maps Skia's expanded channel bytes to Pillow's, in place.</summary>
    public static void ToPillow(Span<byte> rgb, int greenBits)
    {
        byte[] g = greenBits == 6 ? Lut6 : Lut5;
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            rgb[i] = Lut5[rgb[i]];
            rgb[i + 1] = g[rgb[i + 1]];
            rgb[i + 2] = Lut5[rgb[i + 2]];
        }
    }
}
