using System.Buffers.Binary;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>Outcome of a header parse: success or the failure reason.</summary>
internal enum ProbeStatus
{
    Ok = 0,
    Empty,
    UnknownFormat,
    Truncated,
    Corrupt,
    Unsupported,
}

/// <summary>Allocation-free header parsers over the first bytes of an encoded image.</summary>
internal static class HeaderParser
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Recognises the container from its magic bytes (needs at most 12 bytes).</summary>
    public static ImageFormat Detect(ReadOnlySpan<byte> d)
    {
        if (d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat.Jpeg;
        if (d.Length >= 8 && d[..8].SequenceEqual(PngSignature)) return ImageFormat.Png;
        if (d.Length >= 12 && d[..4].SequenceEqual("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        if (d.Length >= 6 && (d[..6].SequenceEqual("GIF87a"u8) || d[..6].SequenceEqual("GIF89a"u8))) return ImageFormat.Gif;
        if (d.Length >= 2 && d[0] == (byte)'B' && d[1] == (byte)'M') return ImageFormat.Bmp;
        return ImageFormat.Unknown;
    }

    /// <summary>True when <paramref name="d"/> is a strict prefix of a supported signature (too short to tell).</summary>
    private static bool IsSignaturePrefix(ReadOnlySpan<byte> d)
    {
        static bool Prefix(ReadOnlySpan<byte> d, ReadOnlySpan<byte> sig) => d.Length < sig.Length && sig.StartsWith(d);
        return Prefix(d, [0xFF, 0xD8, 0xFF]) || Prefix(d, PngSignature) || Prefix(d, "RIFF"u8) || Prefix(d, "GIF87a"u8)
            || Prefix(d, "GIF89a"u8) || Prefix(d, "BM"u8)
            || (d.Length is >= 4 and < 12 && d[..4].SequenceEqual("RIFF"u8)
                && (d.Length <= 8 || "WEBP"u8.StartsWith(d[8..])));
    }

    public static ProbeStatus Parse(ReadOnlySpan<byte> d, out ImageHeader header)
    {
        header = default;
        if (d.IsEmpty) return ProbeStatus.Empty;
        ProbeStatus s = Detect(d) switch
        {
            ImageFormat.Jpeg => ParseJpeg(d, out header),
            ImageFormat.Png => ParsePng(d, out header),
            ImageFormat.WebP => ParseWebP(d, out header),
            ImageFormat.Gif => ParseGif(d, out header),
            ImageFormat.Bmp => ParseBmp(d, out header),
            _ => IsSignaturePrefix(d) ? ProbeStatus.Truncated : ProbeStatus.UnknownFormat,
        };
        if (s == ProbeStatus.Ok && (header.Width <= 0 || header.Height <= 0))
        {
            header = default;
            return ProbeStatus.Corrupt;
        }
        return s;
    }

    private static ProbeStatus ParseJpeg(ReadOnlySpan<byte> d, out ImageHeader h)
    {
        h = default;
        int i = 2;
        while (true)
        {
            // Find the next marker as libjpeg's next_marker (and Pillow's parser) do: bytes that are not 0xFF are skipped
            // (libjpeg warns "extraneous bytes before marker" and decodes on), so are fill bytes 0xFF and FF 00 pairs.
            byte m;
            while (true)
            {
                while (i < d.Length && d[i] != 0xFF) i++;
                while (i < d.Length && d[i] == 0xFF) i++;
                if (i >= d.Length) return ProbeStatus.Truncated;
                m = d[i++];
                if (m != 0x00) break;
            }
            if (m == 0xD8 || m == 0xD9 || m == 0xDA) return ProbeStatus.Corrupt; // no SOF before SOS/EOI
            if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; // standalone markers
            if (i + 2 > d.Length) return ProbeStatus.Truncated;
            int len = BinaryPrimitives.ReadUInt16BigEndian(d[i..]);
            if (len < 2) return ProbeStatus.Corrupt;
            bool isSof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (isSof)
            {
                if (len < 8) return ProbeStatus.Corrupt;
                if (i + 8 > d.Length) return ProbeStatus.Truncated;
                int precision = d[i + 2];
                int height = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 3)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..]);
                int comps = d[i + 7];
                if (width == 0 || comps == 0) return ProbeStatus.Corrupt;
                if (height == 0) return ProbeStatus.Unsupported; // height given later by a DNL marker
                if (m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF) return ProbeStatus.Unsupported; // lossless JPEG
                bool progressive = m is 0xC2 or 0xC6 or 0xCA or 0xCE;
                h = new ImageHeader(ImageFormat.Jpeg, width, height, comps, precision, false, false, progressive);
                return ProbeStatus.Ok;
            }
            i += len;
        }
    }

    private static ProbeStatus ParsePng(ReadOnlySpan<byte> d, out ImageHeader h)
    {
        h = default;
        if (d.Length < 33) return ProbeStatus.Truncated; // signature + IHDR chunk (4+4+13+4)
        if (BinaryPrimitives.ReadUInt32BigEndian(d[8..]) != 13 || !d.Slice(12, 4).SequenceEqual("IHDR"u8))
            return ProbeStatus.Corrupt;
        uint w = BinaryPrimitives.ReadUInt32BigEndian(d[16..]);
        uint hh = BinaryPrimitives.ReadUInt32BigEndian(d[20..]);
        int depth = d[24], colorType = d[25], interlace = d[28];
        if (w == 0 || hh == 0 || w > int.MaxValue || hh > int.MaxValue) return ProbeStatus.Corrupt;
        int comps;
        switch (colorType)
        {
            case 0: comps = 1; if (depth is not (1 or 2 or 4 or 8 or 16)) return ProbeStatus.Corrupt; break;
            case 2: comps = 3; if (depth is not (8 or 16)) return ProbeStatus.Corrupt; break;
            case 3: comps = 1; if (depth is not (1 or 2 or 4 or 8)) return ProbeStatus.Corrupt; break;
            case 4: comps = 2; if (depth is not (8 or 16)) return ProbeStatus.Corrupt; break;
            case 6: comps = 4; if (depth is not (8 or 16)) return ProbeStatus.Corrupt; break;
            default: return ProbeStatus.Corrupt;
        }
        if (interlace > 1 || d[26] != 0 || d[27] != 0) return ProbeStatus.Corrupt;
        h = new ImageHeader(ImageFormat.Png, (int)w, (int)hh, comps, depth, colorType == 3, colorType is 4 or 6, interlace == 1);
        return ProbeStatus.Ok;
    }

    private static ProbeStatus ParseWebP(ReadOnlySpan<byte> d, out ImageHeader h)
    {
        h = default;
        if (d.Length < 20) return ProbeStatus.Truncated;
        ReadOnlySpan<byte> fourcc = d.Slice(12, 4);
        if (fourcc.SequenceEqual("VP8 "u8))
        {
            if (d.Length < 30) return ProbeStatus.Truncated;
            // 3-byte frame tag (bit 0 = 0 for a key frame), start code 9D 01 2A, then 14-bit width/height.
            if ((d[20] & 1) != 0 || d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A) return ProbeStatus.Corrupt;
            int w = BinaryPrimitives.ReadUInt16LittleEndian(d[26..]) & 0x3FFF;
            int hh = BinaryPrimitives.ReadUInt16LittleEndian(d[28..]) & 0x3FFF;
            h = new ImageHeader(ImageFormat.WebP, w, hh, 3, 8, false, false, false);
            return ProbeStatus.Ok;
        }
        if (fourcc.SequenceEqual("VP8L"u8))
        {
            if (d.Length < 25) return ProbeStatus.Truncated;
            if (d[20] != 0x2F) return ProbeStatus.Corrupt;
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(d[21..]);
            int w = (int)(bits & 0x3FFF) + 1;
            int hh = (int)((bits >> 14) & 0x3FFF) + 1;
            bool alpha = ((bits >> 28) & 1) != 0;
            if ((bits >> 29) != 0) return ProbeStatus.Corrupt; // version must be 0
            h = new ImageHeader(ImageFormat.WebP, w, hh, alpha ? 4 : 3, 8, false, alpha, false);
            return ProbeStatus.Ok;
        }
        if (fourcc.SequenceEqual("VP8X"u8))
        {
            if (d.Length < 30) return ProbeStatus.Truncated;
            bool alpha = (d[20] & 0x10) != 0;
            int w = (d[24] | (d[25] << 8) | (d[26] << 16)) + 1;
            int hh = (d[27] | (d[28] << 8) | (d[29] << 16)) + 1;
            h = new ImageHeader(ImageFormat.WebP, w, hh, alpha ? 4 : 3, 8, false, alpha, false);
            return ProbeStatus.Ok;
        }
        return ProbeStatus.Corrupt;
    }

    private static ProbeStatus ParseGif(ReadOnlySpan<byte> d, out ImageHeader h)
    {
        h = default;
        if (d.Length < 13) return ProbeStatus.Truncated;
        int w = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
        int hh = BinaryPrimitives.ReadUInt16LittleEndian(d[8..]);
        h = new ImageHeader(ImageFormat.Gif, w, hh, 1, 8, true, false, false);
        return ProbeStatus.Ok;
    }

    private static ProbeStatus ParseBmp(ReadOnlySpan<byte> d, out ImageHeader h)
    {
        h = default;
        if (d.Length < 18) return ProbeStatus.Truncated;
        uint dib = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        long w, hh;
        int bpp;
        if (dib == 12)
        {
            if (d.Length < 26) return ProbeStatus.Truncated;
            w = BinaryPrimitives.ReadUInt16LittleEndian(d[18..]);
            hh = BinaryPrimitives.ReadUInt16LittleEndian(d[20..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(d[24..]);
        }
        else if (dib is 16 or 40 or 52 or 56 or 64 or 108 or 124)
        {
            if (d.Length < 30) return ProbeStatus.Truncated;
            w = BinaryPrimitives.ReadInt32LittleEndian(d[18..]);
            hh = BinaryPrimitives.ReadInt32LittleEndian(d[22..]);
            if (hh < 0) hh = -hh; // top-down bitmap
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(d[28..]);
        }
        else
        {
            return ProbeStatus.Corrupt;
        }
        if (w <= 0 || hh <= 0 || w > int.MaxValue || hh > int.MaxValue) return ProbeStatus.Corrupt;
        if (bpp is not (1 or 2 or 4 or 8 or 16 or 24 or 32)) return ProbeStatus.Corrupt;
        bool palette = bpp <= 8;
        int comps = palette ? 1 : bpp == 32 ? 4 : 3;
        h = new ImageHeader(ImageFormat.Bmp, (int)w, (int)hh, comps, bpp, palette, bpp == 32, false);
        return ProbeStatus.Ok;
    }
}
