using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoVlm.Kernels.Internal;

/// <summary>
/// The 512-bit horizontal pass of the global tile when the width is an integer multiple s (2..4) of the tile side —
/// always the case for DynamicResize's sizes (sides are multiples of the split). Output i then reads source columns
/// s·i + off + j with the same weights for every output away from the two edges, so each row is first split, per
/// channel, into s phase rows P_p[m] = row[s·m + p] / 255f (byte permutes, then the exact division), and tap j of 16
/// neighbouring outputs is one contiguous load of P_((off+j) mod s) at i + ⌊(off+j)/s⌋. Per output the operations
/// are those of the scalar pass — t₀·w₀, then plain multiply-then-add for the first taps and fused multiply-add for
/// the rest, with the same weights — so every float is bit-identical. Edge outputs (clamped windows, other weights)
/// run the scalar sequence.
/// </summary>
internal unsafe struct GlobalPhasePlan
{
    private int _s, _outW, _off, _taps, _plain, _first, _end, _regs, _pairs;
    private float[] _weights, _phases;
    private byte[] _index, _mask;

    /// <summary>Planar phase rows [3][s][outW], rented.</summary>
    private readonly float* Phase(float* p, int c, int ph) => p + ((long)c * _s + ph) * _outW;

    /// <summary>A plan when the 512-bit path applies (else false): integer ratio 2..4, at least one block of 16
    /// interior outputs, CPU support.</summary>
    public static bool TryCreate(int width, int outW, in AntialiasWeights w, bool fused, out GlobalPhasePlan plan)
    {
        plan = default;
        if (!WideSimd.Enabled || outW % 16 != 0 || width % outW != 0) return false;
        int s = width / outW;
        if (s < 2 || s > 4) return false;
        int ks = w.KSize, mid = outW / 2;
        int[] bounds = w.Bounds;
        float[] weights = w.Weights;
        int off = bounds[2 * mid] - s * mid, taps = bounds[2 * mid + 1];
        bool Interior(int i)
        {
            if (bounds[2 * i] != s * i + off || bounds[2 * i + 1] != taps) return false;
            for (int j = 0; j < taps; j++)
                if (BitConverter.SingleToInt32Bits(weights[i * ks + j]) != BitConverter.SingleToInt32Bits(weights[mid * ks + j])) return false;
            return true;
        }
        int first = mid, end = mid + 1;
        while (first > 0 && Interior(first - 1)) first--;
        while (end < outW && Interior(end)) end++;
        if (end - first < 16) return false;
        int regs = (48 * s + 63) / 64, pairs = (regs + 1) / 2;
        plan = new GlobalPhasePlan
        {
            _s = s, _outW = outW, _off = off, _taps = taps, _plain = GlobalTileResizer.PlainTaps(taps, fused),
            _first = first, _end = end, _regs = regs, _pairs = pairs,
            _weights = ArrayPool<float>.Shared.Rent(taps),
            _phases = ArrayPool<float>.Shared.Rent(3 * s * outW),
            _index = ArrayPool<byte>.Shared.Rent(3 * s * pairs * 64),
            _mask = ArrayPool<byte>.Shared.Rent(3 * s * pairs * 64),
        };
        Array.Copy(w.Weights, mid * ks, plan._weights, 0, taps);
        // Byte permute tables: lane m of (channel c, phase p) is byte 3·(s·m + p) + c of the block's 48·s bytes,
        // which sits in 64-byte register r = byte / 64; pair q covers registers 2q and 2q + 1.
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < s; p++)
                for (int q = 0; q < pairs; q++)
                {
                    int at = ((c * s + p) * pairs + q) * 64;
                    for (int m = 0; m < 64; m++)
                    {
                        int b = 3 * (s * m + p) + c, r = b / 64;
                        bool mine = m < 16 && r / 2 == q;
                        plan._index[at + m] = mine ? (byte)(b - 128 * q) : (byte)0;
                        plan._mask[at + m] = mine ? (byte)0xFF : (byte)0;
                    }
                }
        return true;
    }

    /// <summary>Returns the rented arrays.</summary>
    public readonly void Return()
    {
        ArrayPool<float>.Shared.Return(_weights);
        ArrayPool<float>.Shared.Return(_phases);
        ArrayPool<byte>.Shared.Return(_index);
        ArrayPool<byte>.Shared.Return(_mask);
    }

    /// <summary>
    /// One source row (<paramref name="row"/>, 3·s·outW bytes; <paramref name="avail"/> bytes readable from it) into the
    /// three planar output rows <paramref name="d0"/>..<paramref name="d2"/>; <paramref name="w"/> gives the edge outputs' weights.
    /// </summary>
    public readonly unsafe void RunRow(byte* row, long avail, float* d0, float* d1, float* d2, in AntialiasWeights w, bool fused)
    {
        int s = _s, outW = _outW;
        fixed (float* ph = _phases)
        fixed (float* wt = _weights)
        fixed (byte* index = _index)
        fixed (byte* mask = _mask)
        {
            SplitPhases(row, avail, ph, index, mask);
            // Tap j of output i reads phase row (off + j) mod s at i + ⌊(off + j) / s⌋: one offset per tap.
            int* tapAt = stackalloc int[_taps];
            for (int j = 0; j < _taps; j++)
            {
                int x = _off + j, p = ((x % s) + s) % s;
                tapAt[j] = p * outW + (x - p) / s;
            }
            long channel = (long)s * outW;
            int i = _first;
            for (; i + 16 <= _end; i += 16)
            {
                for (int c = 0; c < 3; c++)
                {
                    float* src = ph + c * channel + i;
                    Vector512<float> acc = Vector512.Load(src + tapAt[0]) * Vector512.Create(wt[0]);
                    int j = 1;
                    for (; j < _plain; j++) acc = Avx512F.Add(acc, Avx512F.Multiply(Vector512.Load(src + tapAt[j]), Vector512.Create(wt[j])));
                    for (; j < _taps; j++) acc = Avx512F.FusedMultiplyAdd(Vector512.Load(src + tapAt[j]), Vector512.Create(wt[j]), acc);
                    acc.Store((c == 0 ? d0 : c == 1 ? d1 : d2) + i);
                }
            }
            for (int o = 0; o < _first; o++) ScalarOutput(row, o, d0, d1, d2, w, fused);
            for (int o = i; o < outW; o++) ScalarOutput(row, o, d0, d1, d2, w, fused);
        }
    }

    private static unsafe void ScalarOutput(byte* row, int o, float* d0, float* d1, float* d2, in AntialiasWeights w, bool fused)
    {
        int xmin = w.Bounds[2 * o], xs = w.Bounds[2 * o + 1], plain = GlobalTileResizer.PlainTaps(xs, fused);
        float[] k = w.Weights;
        int kb = o * w.KSize;
        float* dd = stackalloc float[3];
        for (int c = 0; c < 3; c++)
        {
            float acc = Src(row, c, xmin) * k[kb];
            int j = 1;
            for (; j < plain; j++) acc += Src(row, c, xmin + j) * k[kb + j];
            for (; j < xs; j++) acc = MathF.FusedMultiplyAdd(Src(row, c, xmin + j), k[kb + j], acc);
            dd[c] = acc;
        }
        d0[o] = dd[0];
        d1[o] = dd[1];
        d2[o] = dd[2];
    }

    private static unsafe float Src(byte* row, int c, int x) => row[3 * x + c] / 255f;

    private readonly unsafe void SplitPhases(byte* row, long avail, float* ph, byte* index, byte* mask)
    {
        int s = _s, pairs = _pairs, regs = _regs;
        Vector512<float> k255 = Vector512.Create(255f);
        Span<Vector512<byte>> r = stackalloc Vector512<byte>[2 * pairs];
        for (int mb = 0; mb < _outW / 16; mb++)
        {
            byte* blk = row + 48L * s * mb;
            if (48L * s * mb + 64L * regs > avail)
            {
                for (int m = 16 * mb; m < 16 * mb + 16; m++)
                    for (int p = 0; p < s; p++)
                        for (int c = 0; c < 3; c++)
                            Phase(ph, c, p)[m] = blk[3 * (s * (m - 16 * mb) + p) + c] / 255f;
                continue;
            }
            for (int k = 0; k < 2 * pairs; k++) r[k] = Vector512.Load(blk + 64 * Math.Min(k, regs - 1));
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < s; p++)
                {
                    int at = (c * s + p) * pairs * 64;
                    Vector512<byte> v = Avx512Vbmi.PermuteVar64x8x2(r[0], Vector512.Load(index + at), r[1]);
                    for (int q = 1; q < pairs; q++)
                    {
                        Vector512<byte> t = Avx512Vbmi.PermuteVar64x8x2(r[2 * q], Vector512.Load(index + at + 64 * q), r[2 * q + 1]);
                        v = Avx512BW.BlendVariable(v, t, Vector512.Load(mask + at + 64 * q));
                    }
                    Vector512<float> f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(v.GetLower().GetLower()));
                    Avx512F.Divide(f, k255).Store(Phase(ph, c, p) + 16 * mb);
                }
        }
    }
}
