using System.Buffers.Binary;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// Cheap structural checks that catch truncation the codecs would otherwise hide or misreport, matching Pillow 9.4's
/// verdicts: a JPEG without an EOI marker after its first scan is "image file is truncated" in Pillow (libjpeg fills
/// the missing rows with grey, and a progressive JPEG decodes from the scans present, so SkiaSharp alone can report
/// success); a WebP shorter than its RIFF size and a BMP shorter than its pixel rows are truncated (SkiaSharp reports
/// them as generic errors). PNG and GIF need no check: the codec reports missing rows itself, and like Pillow a PNG
/// whose rows are all present is accepted even if its trailing chunks are cut.
/// </summary>
internal static class Completeness
{
    public static bool IsTruncated(ReadOnlySpan<byte> d, in ImageHeader h) => h.Format switch
    {
        ImageFormat.Jpeg => JpegTruncated(d),
        ImageFormat.WebP => d.Length < 8 || 8L + BinaryPrimitives.ReadUInt32LittleEndian(d[4..]) > d.Length,
        ImageFormat.Bmp => BmpTruncated(d, h),
        _ => false,
    };

    private static bool JpegTruncated(ReadOnlySpan<byte> d)
    {
        // Walk the segments to the first SOS, then require an EOI (FF D9) after it. Entropy-coded data cannot contain
        // FF D9 (every FF is followed by 00 or RSTn), so the last FF D9 in the file is the EOI or trailing garbage.
        int i = 2;
        int sos = -1;
        while (i + 4 <= d.Length)
        {
            if (d[i] != 0xFF) return false; // malformed: leave the verdict to the codec
            while (i < d.Length && d[i] == 0xFF) i++;
            if (i >= d.Length) return true;
            byte m = d[i++];
            if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
            if (m == 0xD9) return false; // EOI before any scan: corrupt, the codec says so
            if (i + 2 > d.Length) return true;
            int len = BinaryPrimitives.ReadUInt16BigEndian(d[i..]);
            if (m == 0xDA)
            {
                sos = i + len;
                break;
            }
            i += len;
        }
        if (sos < 0) return true; // the file ends before the first scan
        int eoi = d.LastIndexOf([(byte)0xFF, (byte)0xD9]);
        return eoi < sos;
    }

    private static bool BmpTruncated(ReadOnlySpan<byte> d, in ImageHeader h)
    {
        if (d.Length < 34) return true;
        uint dib = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        uint compression = dib >= 40 ? BinaryPrimitives.ReadUInt32LittleEndian(d[30..]) : 0;
        if (compression is not (0 or 3 or 6)) return false; // RLE: the codec reports missing data itself
        long offBits = BinaryPrimitives.ReadUInt32LittleEndian(d[10..]);
        long stride = ((long)h.Width * h.BitsPerSample + 31) / 32 * 4;
        long lastRow = ((long)h.Width * h.BitsPerSample + 7) / 8; // the last row's padding may be missing (Pillow accepts)
        return d.Length < offBits + stride * (h.Height - 1) + lastRow;
    }
}
