using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoVlm.Kernels.Internal;

/// <summary>
/// The 512-bit horizontal bicubic pass: 16 output pixels (48 bytes) per block. A block's source pixels lie in one
/// 128-byte window (up to 42 pixels: enough for 16 outputs up to a downscale of about 2×); for each tap a two-table
/// byte permute (VPERMT2B) picks every output lane's source byte out of that window, and the lanes multiply by their
/// own fixed-point coefficient. The sums are Pillow's integer sums in another order, and integer addition is exact
/// (no partial sum can overflow: |Σ k| · 255 + ½ stays far below 2³¹), so the bytes equal the scalar pass's.
/// Blocks whose window would exceed 128 bytes (stronger downscales) are marked and left to the per-pixel path.
/// </summary>
internal struct HorizontalBlockPlan
{
    /// <summary>Output pixels per block.</summary>
    public const int Lanes = 16;

    /// <summary>Source pixels one 128-byte window holds whole.</summary>
    private const int WindowPixels = 42;

    /// <summary>Full blocks (outputs [0, Blocks·16)); the outputs after them go the per-pixel way.</summary>
    public int Blocks;

    /// <summary>Taps of each block (0: the block does not fit a window and goes the per-pixel way).</summary>
    public int[] Taps;

    /// <summary>First source pixel of each block's window.</summary>
    public int[] Base;

    /// <summary>[block][tap] 64 permute indices into the window (lane l = 3·i + c of the 48 used).</summary>
    public byte[] Index;

    /// <summary>[block][tap][48] fixed-point coefficients per lane (0 past a lane's own taps).</summary>
    public int[] Coeffs;

    /// <summary>Taps per block in <see cref="Index"/> and <see cref="Coeffs"/>.</summary>
    public int KSize;

    /// <summary>Builds the plan from Pillow's coefficients (rented arrays; call <see cref="Return"/>).</summary>
    public static HorizontalBlockPlan Build(in ResampleCoefficients c, int dstWidth)
    {
        int blocks = dstWidth / Lanes, ks = c.KSize;
        var plan = new HorizontalBlockPlan
        {
            Blocks = blocks,
            KSize = ks,
            Taps = ArrayPool<int>.Shared.Rent(Math.Max(blocks, 1)),
            Base = ArrayPool<int>.Shared.Rent(Math.Max(blocks, 1)),
            Index = ArrayPool<byte>.Shared.Rent(Math.Max(blocks * ks * 64, 1)),
            Coeffs = ArrayPool<int>.Shared.Rent(Math.Max(blocks * ks * 48, 1)),
        };
        for (int b = 0; b < blocks; b++)
        {
            int first = b * Lanes, bas = c.Bounds[2 * first], taps = 0;
            bool fits = true;
            for (int i = 0; i < Lanes; i++)
            {
                int xmin = c.Bounds[2 * (first + i)], xsize = c.Bounds[2 * (first + i) + 1];
                taps = Math.Max(taps, xsize);
                if (xmin < bas || xmin + xsize - bas > WindowPixels) fits = false;
            }
            plan.Base[b] = bas;
            plan.Taps[b] = fits ? taps : 0;
            if (!fits) continue;
            for (int j = 0; j < taps; j++)
            {
                int at = b * ks + j;
                for (int l = 0; l < 64; l++)
                {
                    int i = l / 3, ch = l % 3;
                    bool used = l < 48 && j < c.Bounds[2 * (first + i) + 1];
                    plan.Index[at * 64 + l] = used ? (byte)((c.Bounds[2 * (first + i)] + j - bas) * 3 + ch) : (byte)0;
                    if (l < 48) plan.Coeffs[at * 48 + l] = used ? c.Coeffs[(first + i) * ks + j] : 0;
                }
            }
        }
        return plan;
    }

    /// <summary>Returns the rented arrays.</summary>
    public readonly void Return()
    {
        ArrayPool<int>.Shared.Return(Taps);
        ArrayPool<int>.Shared.Return(Base);
        ArrayPool<byte>.Shared.Return(Index);
        ArrayPool<int>.Shared.Return(Coeffs);
    }

    /// <summary>
    /// Block <paramref name="b"/> of one row: reads the 128 bytes at <paramref name="srow"/> + 3·Base[b] (the caller
    /// checks they are inside the source), writes 48 bytes at <paramref name="drow"/> + 48·b.
    /// </summary>
    public static unsafe void RunBlock(byte* srow, byte* drow, int b, int taps, int bas, byte* index, int* coeffs, int ks)
    {
        byte* w = srow + 3 * bas;
        Vector512<byte> lo = Vector512.Load(w), hi = Vector512.Load(w + 64);
        Vector512<int> half = Vector512.Create(ResampleCoefficients.Half);
        Vector512<int> a0 = half, a1 = half, a2 = half;
        byte* idx = index + (long)b * ks * 64;
        int* k = coeffs + (long)b * ks * 48;
        for (int j = 0; j < taps; j++, idx += 64, k += 48)
        {
            Vector512<byte> px = Avx512Vbmi.PermuteVar64x8x2(lo, Vector512.Load(idx), hi);
            a0 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(px.GetLower().GetLower()), Vector512.Load(k));
            a1 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(px.GetLower().GetUpper()), Vector512.Load(k + 16));
            a2 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(px.GetUpper().GetLower()), Vector512.Load(k + 32));
        }
        byte* d = drow + 48 * b;
        StoreClip8(a0, d);
        StoreClip8(a1, d + 16);
        StoreClip8(a2, d + 32);
    }

    /// <summary>Pillow's clip8 of 16 accumulators: shift out the fraction, clamp to [0, 255], store 16 bytes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreClip8(Vector512<int> acc, byte* d)
    {
        Vector512<int> v = Avx512F.Max(Avx512F.ShiftRightArithmetic(acc, ResampleCoefficients.PrecisionBits), Vector512<int>.Zero);
        Avx512F.ConvertToVector128ByteWithSaturation(v.AsUInt32()).Store(d);
    }
}
