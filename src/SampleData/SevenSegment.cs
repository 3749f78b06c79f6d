using SkiaSharp;

namespace NanoVlm.SampleData;

/// <summary>Draws digits as seven-segment glyphs with rectangles.</summary>
/// <remarks>Why not fonts: the bundled Skia has no font manager on Linux, and glyphs from system fonts would differ
/// between machines; rectangles render the same everywhere, so the generated files are deterministic.</remarks>
internal static class SevenSegment
{
    // Segments a b c d e f g as bits 0..6 for digits 0..9.
    private static readonly byte[] Masks = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

    /// <summary>Draws <paramref name="text"/> (digits only) with its top-left corner at (x, y).</summary>
    /// <param name="canvas">Target canvas.</param>
    /// <param name="text">Digits to draw.</param>
    /// <param name="x">Left edge.</param>
    /// <param name="y">Top edge.</param>
    /// <param name="digitHeight">Height of one digit; the width is half of it.</param>
    /// <param name="paint">Fill paint.</param>
    public static void Draw(SKCanvas canvas, string text, float x, float y, float digitHeight, SKPaint paint)
    {
        var w = digitHeight / 2;
        var t = Math.Max(2f, digitHeight / 9);
        foreach (var ch in text)
        {
            var m = Masks[ch - '0'];
            var half = digitHeight / 2;
            if ((m & 0x01) != 0) canvas.DrawRect(x + t, y, w - 2 * t, t, paint);                       // a
            if ((m & 0x02) != 0) canvas.DrawRect(x + w - t, y + t, t, half - 1.5f * t, paint);          // b
            if ((m & 0x04) != 0) canvas.DrawRect(x + w - t, y + half + t / 2, t, half - 1.5f * t, paint); // c
            if ((m & 0x08) != 0) canvas.DrawRect(x + t, y + digitHeight - t, w - 2 * t, t, paint);      // d
            if ((m & 0x10) != 0) canvas.DrawRect(x, y + half + t / 2, t, half - 1.5f * t, paint);       // e
            if ((m & 0x20) != 0) canvas.DrawRect(x, y + t, t, half - 1.5f * t, paint);                  // f
            if ((m & 0x40) != 0) canvas.DrawRect(x + t, y + half - t / 2, w - 2 * t, t, paint);         // g
            x += w * 1.35f;
        }
    }

    /// <summary>Width of <paramref name="digits"/> digits drawn at <paramref name="digitHeight"/>.</summary>
    public static float Width(int digits, float digitHeight) => digits * digitHeight / 2 * 1.35f;
}
