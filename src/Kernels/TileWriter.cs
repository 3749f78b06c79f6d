using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoVlm.Kernels;

/// <summary>
/// ToTensor + split: resized RGB8 (HWC) → tiles [n_h·n_w, 3, S, S] in row-major tile order, value = byte / 255f
/// (torch's float32 <c>img.float().div(255)</c>, a correctly rounded division), written straight into the
/// destination span. Optional bfloat16 output rounds to nearest even like torch.
/// </summary>
public static class TileWriter
{
    /// <summary>byte → float32 exactly as torch's ToTensor (<c>(float)b / 255f</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(byte b) => b / 255f;

    /// <summary>float32 → bfloat16 bits, round to nearest even, NaN → 0x7FC0 (c10::BFloat16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return 0x7FC0;
        uint rounding = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    private static void Check(int srcLen, int width, int height, int split, long dstLen)
    {
        if (width <= 0 || height <= 0 || split <= 0)
            throw new ImageSizeException(ImageSizeError.NonPositive, width, height, "Sizes must be positive");
        if (width % split != 0 || height % split != 0)
            throw new ArgumentException($"Image {width}x{height} is not a multiple of the split size {split}");
        if (srcLen < 3L * width * height)
            throw new ArgumentException($"Source span has {srcLen} bytes, need {3L * width * height}", "resized");
        if (dstLen < 3L * width * height)
            throw new ArgumentException($"Destination span has {dstLen} elements, need {3L * width * height}", "destination");
    }

    /// <summary>Writes the n_h·n_w tiles of <paramref name="resized"/> into <paramref name="destination"/> (3·W·H floats).</summary>
    public static unsafe void WriteTiles(ReadOnlySpan<byte> resized, int width, int height, int split, Span<float> destination)
        => WriteTiles(resized, width, height, split, destination, simd: true);

    internal static unsafe void WriteTiles(ReadOnlySpan<byte> resized, int width, int height, int split, Span<float> destination, bool simd)
    {
        Check(resized.Length, width, height, split, destination.Length);
        int nw = width / split;
        bool vec = simd && Avx2.IsSupported;
        fixed (byte* ps = resized)
        fixed (float* pd = destination)
        {
            for (int y = 0; y < height; y++)
                WriteTileRowFloat32(ps + (long)y * width * 3, width, y, split, pd, nw, vec);
        }
    }

    /// <summary>One resized RGB8 row (image row <paramref name="y"/>) into its place in the float32 tiles at
    /// <paramref name="tiles"/> (the fused resize calls it while the row is in cache).</summary>
    internal static unsafe void WriteTileRowFloat32(byte* row, int width, int y, int split, float* tiles, int nw, bool vec)
    {
        long plane = (long)split * split;
        int r = y / split, ty = y - r * split;
        for (int c = 0; c < nw; c++)
        {
            byte* s = row + (long)c * split * 3;
            float* dr = tiles + (long)(r * nw + c) * 3 * plane + (long)ty * split, dg = dr + plane, db = dg + plane;
            int x = 0;
            if (vec)
                for (; x + 16 <= split; x += 16)
                    Deinterleave16(s + 3 * x, dr + x, dg + x, db + x);
            for (; x < split; x++)
            {
                dr[x] = s[3 * x] / 255f;
                dg[x] = s[3 * x + 1] / 255f;
                db[x] = s[3 * x + 2] / 255f;
            }
        }
    }

    /// <summary>
    /// The split without ToTensor's division: the n_h·n_w tiles of <paramref name="resized"/> as bytes, CHW per tile
    /// ([n_h·n_w, 3, S, S] uint8, 3·W·H bytes), so that a consumer can do <c>byte / 255f</c> where the tiles are used
    /// (a quarter of the float32 bytes to move). <see cref="ToFloat"/> of every byte gives exactly <see cref="WriteTiles(ReadOnlySpan{byte}, int, int, int, Span{float})"/>'s floats.
    /// </summary>
    public static void WriteTilesUInt8(ReadOnlySpan<byte> resized, int width, int height, int split, Span<byte> destination)
        => WriteTilesUInt8(resized, width, height, split, destination, simd: true);

    internal static unsafe void WriteTilesUInt8(ReadOnlySpan<byte> resized, int width, int height, int split, Span<byte> destination, bool simd)
    {
        Check(resized.Length, width, height, split, destination.Length);
        if (!simd || !Ssse3.IsSupported)
        {
            SplitMapped(resized, width, height, split, destination, IdentityBytes);
            return;
        }
        int nh = height / split, nw = width / split;
        fixed (byte* ps = resized)
        fixed (byte* pd = destination)
        {
            for (int y = 0; y < height; y++)
                WriteTileRowUInt8(ps + (long)y * width * 3, width, y, split, pd, nw);
        }
    }

    /// <summary>
    /// One resized RGB8 row (<paramref name="width"/> pixels, image row <paramref name="y"/>) into its place in the
    /// uint8 tiles [n_h·n_w, 3, S, S] at <paramref name="tiles"/>: the row-at-a-time form the fused resize uses while
    /// the row is still in cache.
    /// </summary>
    internal static unsafe void WriteTileRowUInt8(byte* row, int width, int y, int split, byte* tiles, int nw)
    {
        long plane = (long)split * split;
        int r = y / split, ty = y - r * split;
        for (int c = 0; c < nw; c++)
        {
            byte* s = row + (long)c * split * 3;
            byte* dr = tiles + (long)(r * nw + c) * 3 * plane + (long)ty * split, dg = dr + plane, db = dg + plane;
            int x = 0;
            for (; x + 16 <= split; x += 16)
            {
                byte* q = s + 3 * x;
                Vector128<byte> v0 = Sse2.LoadVector128(q), v1 = Sse2.LoadVector128(q + 16), v2 = Sse2.LoadVector128(q + 32);
                Sse2.Store(dr + x, Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, R0), Ssse3.Shuffle(v1, R1)), Ssse3.Shuffle(v2, R2)));
                Sse2.Store(dg + x, Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, G0), Ssse3.Shuffle(v1, G1)), Ssse3.Shuffle(v2, G2)));
                Sse2.Store(db + x, Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, B0), Ssse3.Shuffle(v1, B1)), Ssse3.Shuffle(v2, B2)));
            }
            for (; x < split; x++)
            {
                dr[x] = s[3 * x];
                dg[x] = s[3 * x + 1];
                db[x] = s[3 * x + 2];
            }
        }
    }

    /// <summary>Same as <see cref="WriteTiles(ReadOnlySpan{byte}, int, int, int, Span{float})"/> with bfloat16 bits as output.</summary>
    public static void WriteTilesBFloat16(ReadOnlySpan<byte> resized, int width, int height, int split, Span<ushort> destination)
    {
        Check(resized.Length, width, height, split, destination.Length);
        SplitMapped(resized, width, height, split, destination, BFloat16Table);
    }

    private static readonly byte[] IdentityBytes = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];

    // The tile split (HWC rows → CHW tiles) with each byte mapped through a 256-entry table on the way.
    private static unsafe void SplitMapped<T>(ReadOnlySpan<byte> resized, int width, int height, int split, Span<T> destination,
        ReadOnlySpan<T> map) where T : unmanaged
    {
        int nw = width / split;
        fixed (byte* ps = resized)
        fixed (T* pd = destination)
        fixed (T* pm = map)
        {
            for (int y = 0; y < height; y++)
                WriteTileRowMapped(ps + (long)y * width * 3, y, split, pd, nw, pm);
        }
    }

    /// <summary>bfloat16 bits of every byte value (the table <see cref="WriteTilesBFloat16"/> maps through).</summary>
    internal static ushort[] BFloat16Table { get; } = [.. Enumerable.Range(0, 256).Select(i => ToBFloat16(i / 255f))];

    /// <summary>One resized row into mapped tiles (table <paramref name="map"/> per byte value).</summary>
    internal static unsafe void WriteTileRowMapped<T>(byte* row, int y, int split, T* tiles, int nw, T* map) where T : unmanaged
    {
        long plane = (long)split * split;
        int r = y / split, ty = y - r * split;
        for (int c = 0; c < nw; c++)
        {
            byte* s = row + (long)c * split * 3;
            T* dr = tiles + (long)(r * nw + c) * 3 * plane + (long)ty * split, dg = dr + plane, db = dg + plane;
            for (int x = 0; x < split; x++)
            {
                dr[x] = map[s[3 * x]];
                dg[x] = map[s[3 * x + 1]];
                db[x] = map[s[3 * x + 2]];
            }
        }
    }

    private static readonly Vector128<byte> R0 = Vector128.Create((byte)0, 3, 6, 9, 12, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> R1 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 2, 5, 8, 11, 14, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> R2 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1, 4, 7, 10, 13);
    private static readonly Vector128<byte> G0 = Vector128.Create((byte)1, 4, 7, 10, 13, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> G1 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 0, 3, 6, 9, 12, 15, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> G2 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 2, 5, 8, 11, 14);
    private static readonly Vector128<byte> B0 = Vector128.Create((byte)2, 5, 8, 11, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> B1 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 1, 4, 7, 10, 13, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> B2 = Vector128.Create((byte)0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 3, 6, 9, 12, 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Deinterleave16(byte* s, float* dr, float* dg, float* db)
    {
        Vector128<byte> v0 = Sse2.LoadVector128(s), v1 = Sse2.LoadVector128(s + 16), v2 = Sse2.LoadVector128(s + 32);
        Vector128<byte> r = Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, R0), Ssse3.Shuffle(v1, R1)), Ssse3.Shuffle(v2, R2));
        Vector128<byte> g = Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, G0), Ssse3.Shuffle(v1, G1)), Ssse3.Shuffle(v2, G2));
        Vector128<byte> b = Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, B0), Ssse3.Shuffle(v1, B1)), Ssse3.Shuffle(v2, B2));
        Store16(r, dr);
        Store16(g, dg);
        Store16(b, db);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store16(Vector128<byte> v, float* d)
    {
        Vector256<float> k = Vector256.Create(255f);
        Avx.Store(d, Avx.Divide(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(v)), k));
        Avx.Store(d + 8, Avx.Divide(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8))), k));
    }
}
