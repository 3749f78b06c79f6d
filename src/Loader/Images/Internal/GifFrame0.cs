namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// What Pillow 9.4 shows in frame 0 of a GIF where SkiaSharp (Wuffs) yields transparent pixels: Pillow fills the canvas
/// with the transparency index (or index 0 without one), decodes the frame into it, and <c>convert('RGB')</c> looks the
/// index up in the frame's colour table, while Wuffs outputs transparent black there. This finds that colour.
/// </summary>
internal static class GifFrame0
{
    /// <summary>RGB (0xRRGGBB) Pillow gives to transparent / uncovered pixels of frame 0; false when the stream is too
    /// malformed to tell (the decoder then keeps SkiaSharp's pixels).</summary>
    public static bool TryGetFillColor(ReadOnlySpan<byte> d, out int rgb)
    {
        rgb = 0;
        if (d.Length < 13) return false;
        int flags = d[10];
        int tableOffset = -1, tableEntries = 0;
        int pos = 13;
        if ((flags & 0x80) != 0)
        {
            tableOffset = pos;
            tableEntries = 1 << ((flags & 7) + 1);
            pos += 3 * tableEntries;
        }
        int transparency = -1;
        while (pos < d.Length)
        {
            byte b = d[pos];
            if (b == 0x21)
            {
                if (pos + 2 >= d.Length) return false;
                byte label = d[pos + 1];
                pos += 2;
                if (label == 0xF9 && d[pos] >= 4 && pos + 4 < d.Length && (d[pos + 1] & 1) != 0) transparency = d[pos + 4];
                while (pos < d.Length && d[pos] != 0) pos += d[pos] + 1; // data sub-blocks
                pos++;
            }
            else if (b == 0x2C)
            {
                if (pos + 10 > d.Length) return false;
                int imageFlags = d[pos + 9];
                if ((imageFlags & 0x80) != 0)
                {
                    tableOffset = pos + 10;
                    tableEntries = 1 << ((imageFlags & 7) + 1);
                }
                int index = transparency >= 0 ? transparency : 0;
                if (tableOffset < 0)
                {
                    rgb = index * 0x010101; // Pillow mode "L": the index is the gray value
                }
                else if (index < tableEntries && tableOffset + 3 * index + 3 <= d.Length)
                {
                    int o = tableOffset + 3 * index;
                    rgb = (d[o] << 16) | (d[o + 1] << 8) | d[o + 2];
                }
                return true;
            }
            else
            {
                return false;
            }
        }
        return false;
    }
}
