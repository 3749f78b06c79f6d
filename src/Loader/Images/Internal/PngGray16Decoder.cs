using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace NanoVlm.Loader.Images.Internal;

/// <summary>
/// Decoder for 16-bit grayscale PNG (colour type 0, bit depth 16), the one layout where SkiaSharp cannot give Pillow's
/// result: Pillow 9.4 opens it in mode "I" and <c>convert('RGB')</c> clips the raw 16-bit value to 0..255 (no
/// scaling), while SkiaSharp strips every 16-bit gray sample to its high byte before any output format. This reads the
/// IDAT stream itself (zlib inflate, PNG unfiltering, Adam7) and writes min(v, 255) replicated to RGB.
/// </summary>
internal static class PngGray16Decoder
{
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    public static void Decode(ReadOnlySpan<byte> d, in ImageHeader header, Span<byte> destination, string name)
    {
        int w = header.Width, h = header.Height;
        // Gather the IDAT payloads (compressed size only) into one pooled buffer.
        int total = 0;
        int pos = 8;
        bool sawIend = false;
        while (pos + 8 <= d.Length)
        {
            uint len = BinaryPrimitives.ReadUInt32BigEndian(d[pos..]);
            if (len > int.MaxValue) throw Corrupt(name, "chunk length out of range");
            ReadOnlySpan<byte> type = d.Slice(pos + 4, 4);
            if (type.SequenceEqual("IEND"u8))
            {
                sawIend = true;
                break;
            }
            if (type.SequenceEqual("IDAT"u8)) total += (int)Math.Min(len, (uint)Math.Max(0, d.Length - pos - 8));
            pos += 12 + (int)Math.Min(len, (uint)(int.MaxValue - 12 - pos));
        }
        _ = sawIend; // like Pillow, a missing IEND is fine when all rows are present
        byte[] compressed = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        try
        {
            int n = 0;
            pos = 8;
            while (pos + 8 <= d.Length)
            {
                uint len = BinaryPrimitives.ReadUInt32BigEndian(d[pos..]);
                ReadOnlySpan<byte> type = d.Slice(pos + 4, 4);
                if (type.SequenceEqual("IEND"u8)) break;
                if (type.SequenceEqual("IDAT"u8))
                {
                    int take = (int)Math.Min(len, (uint)Math.Max(0, d.Length - pos - 8));
                    d.Slice(pos + 8, take).CopyTo(compressed.AsSpan(n));
                    n += take;
                }
                pos += 12 + (int)Math.Min(len, (uint)(int.MaxValue - 12 - pos));
            }
            if (n == 0) throw new ImageDecodeException(name, ImageDecodeFailure.Truncated, "PNG has no IDAT data");
            using var zs = new ZLibStream(new MemoryStream(compressed, 0, n, writable: false), CompressionMode.Decompress);
            if (header.IsProgressive)
            {
                foreach (var (x0, y0, dx, dy) in Adam7)
                {
                    int pw = (w - x0 + dx - 1) / dx, ph = (h - y0 + dy - 1) / dy;
                    if (pw <= 0 || ph <= 0) continue;
                    DecodePass(zs, pw, ph, destination, w, x0, y0, dx, dy, name);
                }
            }
            else
            {
                DecodePass(zs, w, h, destination, w, 0, 0, 1, 1, name);
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException) // bad zlib data (ZLibException is an IOException)
        {
            throw new ImageDecodeException(name, ImageDecodeFailure.Corrupt, "PNG zlib data is invalid", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private static void DecodePass(Stream zs, int pw, int ph, Span<byte> dst, int w, int x0, int y0, int dx, int dy, string name)
    {
        int rowLen = pw * 2;
        byte[] rows = ArrayPool<byte>.Shared.Rent(2 * (rowLen + 1));
        try
        {
            Span<byte> prev = rows.AsSpan(0, rowLen);
            Span<byte> cur = rows.AsSpan(rowLen, rowLen);
            Span<byte> filter = rows.AsSpan(2 * rowLen, 1);
            prev.Clear();
            for (int y = 0; y < ph; y++)
            {
                if (!ReadExactly(zs, filter) || !ReadExactly(zs, cur))
                {
                    throw new ImageDecodeException(name, ImageDecodeFailure.Truncated, $"PNG pixel data ends at row {y} of a pass of {ph}");
                }
                Unfilter(filter[0], cur, prev, 2, name);
                int oy = y0 + y * dy;
                for (int x = 0; x < pw; x++)
                {
                    int v = (cur[2 * x] << 8) | cur[2 * x + 1];
                    byte g = (byte)Math.Min(v, 255);
                    int o = (oy * w + x0 + x * dx) * 3;
                    dst[o] = g;
                    dst[o + 1] = g;
                    dst[o + 2] = g;
                }
                Span<byte> t = prev;
                prev = cur;
                cur = t;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rows);
        }
    }

    private static bool ReadExactly(Stream s, Span<byte> buf)
    {
        while (!buf.IsEmpty)
        {
            int r = s.Read(buf);
            if (r == 0) return false;
            buf = buf[r..];
        }
        return true;
    }

    private static void Unfilter(byte type, Span<byte> cur, ReadOnlySpan<byte> prev, int bpp, string name)
    {
        switch (type)
        {
            case 0: break;
            case 1: for (int i = bpp; i < cur.Length; i++) cur[i] += cur[i - bpp]; break;
            case 2: for (int i = 0; i < cur.Length; i++) cur[i] += prev[i]; break;
            case 3:
                for (int i = 0; i < cur.Length; i++) cur[i] += (byte)(((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1);
                break;
            case 4:
                for (int i = 0; i < cur.Length; i++)
                {
                    int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    cur[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }
                break;
            default: throw Corrupt(name, $"PNG filter type {type}");
        }
    }

    private static ImageDecodeException Corrupt(string name, string detail) =>
        new(name, ImageDecodeFailure.Corrupt, detail);
}
