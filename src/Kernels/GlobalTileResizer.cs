using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NanoVlm.Kernels.Internal;

namespace NanoVlm.Kernels;

/// <summary>
/// The global tile: the float image (byte / 255f, computed on the fly from the resized RGB8 bytes, never stored
/// whole) resized to S×S the way torchvision's tensor <c>resize(..., antialias=True)</c> (bilinear) does on CPU in
/// torch 1.13 (<c>_upsample_bilinear2d_aa</c>): float32 weights, horizontal pass then vertical pass, each output
/// accumulated as <c>t0·w0 + t1·w1 + …</c> in float32 without FMA. Thread-safe, pooled scratch.
/// </summary>
public static class GlobalTileResizer
{
    /// <summary>Writes the [3, <paramref name="size"/>, <paramref name="size"/>] global tile of the
    /// <paramref name="width"/>×<paramref name="height"/> RGB8 image <paramref name="resized"/> into <paramref name="destination"/>.</summary>
    /// <param name="resized">Interleaved RGB8 image.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="size">Global tile side (the split size).</param>
    /// <param name="destination">At least 3 · size · size floats, planar CHW.</param>
    /// <param name="accumulation">Float accumulation variant; the default is bit-exact with the reference torch build.</param>
    public static void Resize(ReadOnlySpan<byte> resized, int width, int height, int size, Span<float> destination,
        GlobalTileAccumulation accumulation = GlobalTileAccumulation.TorchAvx2)
        => Resize(resized, width, height, size, destination, accumulation, simd: true);

    internal static unsafe void Resize(ReadOnlySpan<byte> resized, int width, int height, int size, Span<float> destination,
        GlobalTileAccumulation accumulation, bool simd)
    {
        bool fused = accumulation == GlobalTileAccumulation.TorchAvx2;
        if (width <= 0 || height <= 0 || size <= 0)
            throw new ImageSizeException(ImageSizeError.NonPositive, width, height, "Sizes must be positive");
        if (resized.Length < 3L * width * height)
            throw new ArgumentException($"Source span has {resized.Length} bytes, need {3L * width * height}", nameof(resized));
        if (destination.Length < 3L * size * size)
            throw new ArgumentException($"Destination span has {destination.Length} floats, need {3L * size * size}", nameof(destination));
        bool needH = width != size, needV = height != size;
        float[] temp = ArrayPool<float>.Shared.Rent(3 * (needH ? size : width) * height);
        try
        {
            fixed (byte* ps = resized)
            fixed (float* pt = temp)
            fixed (float* pd = destination)
            {
                float* hOut = needV ? pt : pd;
                if (needH)
                {
                    var w = AntialiasWeights.Compute(width, size);
                    try
                    {
                        if (simd && GlobalPhasePlan.TryCreate(width, size, w, fused, out var phases))
                        {
                            try
                            {
                                long plane = (long)size * height, total = 3L * width * height;
                                for (int y = 0; y < height; y++)
                                {
                                    float* d0 = hOut + (long)y * size;
                                    phases.RunRow(ps + 3L * width * y, total - 3L * width * y, d0, d0 + plane, d0 + 2 * plane, w, fused);
                                }
                            }
                            finally { phases.Return(); }
                        }
                        else if (simd && Avx2.IsSupported && Fma.IsSupported && size >= 8) HorizontalGather(ps, width, height, size, w, hOut, fused);
                        else Horizontal(ps, width, height, size, w, hOut, fused);
                    }
                    finally { w.Return(); }
                }
                else
                {
                    // planar float copy of the source (torch: the pass is skipped or an exact identity)
                    for (int c = 0; c < 3; c++)
                        for (long i = 0; i < (long)width * height; i++)
                            hOut[c * (long)width * height + i] = ps[3 * i + c] / 255f;
                }
                if (needV)
                {
                    var w = AntialiasWeights.Compute(height, size);
                    try { Vertical(pt, needH ? size : width, height, size, w, pd, simd && Avx.IsSupported && (!fused || Fma.IsSupported), fused); }
                    finally { w.Return(); }
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(temp); }
    }

    /// <summary>End (exclusive) of the taps that are multiplied and rounded before being added; taps from here on
    /// are fused multiply-adds (TorchAvx2) — or none are (Sequential).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int PlainTaps(int taps, bool fused) => fused ? 1 + 4 * ((taps - 1) / 4) : taps;

    internal static unsafe void Horizontal(byte* src, int width, int height, int outW, in AntialiasWeights w, float* dst, bool fused)
    {
        int ks = w.KSize;
        long plane = (long)outW * height;
        Span<float> lut = stackalloc float[256];
        for (int i = 0; i < 256; i++) lut[i] = i / 255f;
        fixed (int* bounds = w.Bounds)
        fixed (float* wts = w.Weights)
        fixed (float* l = lut)
        {
            for (int y = 0; y < height; y++)
            {
                byte* row = src + (long)y * width * 3;
                float* d0 = dst + (long)y * outW, d1 = d0 + plane, d2 = d1 + plane;
                for (int ox = 0; ox < outW; ox++)
                {
                    int xmin = bounds[2 * ox], xs = bounds[2 * ox + 1];
                    int plain = PlainTaps(xs, fused);
                    float* k = wts + ox * ks;
                    byte* p = row + xmin * 3;
                    float k0 = k[0];
                    float a0 = l[p[0]] * k0, a1 = l[p[1]] * k0, a2 = l[p[2]] * k0;
                    int j = 1;
                    for (; j < plain; j++)
                    {
                        float kj = k[j];
                        byte* q = p + 3 * j;
                        a0 += l[q[0]] * kj;
                        a1 += l[q[1]] * kj;
                        a2 += l[q[2]] * kj;
                    }
                    for (; j < xs; j++)
                    {
                        float kj = k[j];
                        byte* q = p + 3 * j;
                        a0 = MathF.FusedMultiplyAdd(l[q[0]], kj, a0);
                        a1 = MathF.FusedMultiplyAdd(l[q[1]], kj, a1);
                        a2 = MathF.FusedMultiplyAdd(l[q[2]], kj, a2);
                    }
                    d0[ox] = a0;
                    d1[ox] = a1;
                    d2[ox] = a2;
                }
            }
        }
    }

    /// <summary>
    /// SIMD horizontal pass: lanes are 8 consecutive output columns. Each source row is first converted to three
    /// planar float rows (b / 255f, exact), then tap j of lane i is gathered from column xmin_i + j. Per lane the
    /// operation sequence equals <see cref="Horizontal"/>: plain multiply-add for j &lt; plain_i, fused after, and
    /// taps past a lane's own count have weight 0 (an exact no-op for the non-negative sums here).
    /// </summary>
    internal static unsafe void HorizontalGather(byte* src, int width, int height, int outW, in AntialiasWeights w, float* dst, bool fused)
    {
        int ks = w.KSize;
        long plane = (long)outW * height;
        int blocks = outW / 8;
        float[] rowBuf = ArrayPool<float>.Shared.Rent(3 * width + 8);
        float[] wt = ArrayPool<float>.Shared.Rent(blocks * ks * 8);
        int[] meta = ArrayPool<int>.Shared.Rent(blocks * 8 * 2);
        try
        {
            fixed (int* bounds = w.Bounds)
            fixed (float* wts = w.Weights)
            fixed (float* rb = rowBuf)
            fixed (float* pw = wt)
            fixed (int* pm = meta)
            {
                // transpose weights to [block][tap][lane]; meta = xmin per lane, plain-tap count per lane
                int* maxTaps = stackalloc int[Math.Max(blocks, 1)];
                for (int b = 0; b < blocks; b++)
                {
                    int mt = 0;
                    for (int i = 0; i < 8; i++)
                    {
                        int ox = b * 8 + i, xs = bounds[2 * ox + 1];
                        pm[b * 16 + i] = bounds[2 * ox];
                        pm[b * 16 + 8 + i] = PlainTaps(xs, fused);
                        mt = Math.Max(mt, xs);
                        for (int j = 0; j < ks; j++) pw[(b * ks + j) * 8 + i] = wts[ox * ks + j];
                    }
                    maxTaps[b] = mt;
                }
                Vector256<int> lastCol = Vector256.Create(width - 1);
                for (int y = 0; y < height; y++)
                {
                    byte* row = src + (long)y * width * 3;
                    float* r0 = rb, r1 = rb + width, r2 = rb + 2 * width;
                    int x = 0;
                    for (; x + 16 <= width; x += 16)
                        TileWriter.Deinterleave16(row + 3 * x, r0 + x, r1 + x, r2 + x);
                    for (; x < width; x++)
                    {
                        r0[x] = row[3 * x] / 255f;
                        r1[x] = row[3 * x + 1] / 255f;
                        r2[x] = row[3 * x + 2] / 255f;
                    }
                    float* d0 = dst + (long)y * outW, d1 = d0 + plane, d2 = d1 + plane;
                    for (int b = 0; b < blocks; b++)
                    {
                        Vector256<int> xmin = Avx.LoadVector256(pm + b * 16);
                        Vector256<int> plain = Avx.LoadVector256(pm + b * 16 + 8);
                        float* wb = pw + b * ks * 8;
                        Vector256<float> k0 = Avx.LoadVector256(wb);
                        Vector256<float> a0 = Avx.Multiply(Avx2.GatherVector256(r0, xmin, 4), k0);
                        Vector256<float> a1 = Avx.Multiply(Avx2.GatherVector256(r1, xmin, 4), k0);
                        Vector256<float> a2 = Avx.Multiply(Avx2.GatherVector256(r2, xmin, 4), k0);
                        int mt = maxTaps[b];
                        for (int j = 1; j < mt; j++)
                        {
                            Vector256<int> col = Avx2.Min(Avx2.Add(xmin, Vector256.Create(j)), lastCol);
                            Vector256<float> kj = Avx.LoadVector256(wb + j * 8);
                            Vector256<float> usePlain = Avx2.CompareGreaterThan(plain, Vector256.Create(j)).AsSingle();
                            Vector256<float> t0 = Avx2.GatherVector256(r0, col, 4);
                            Vector256<float> t1 = Avx2.GatherVector256(r1, col, 4);
                            Vector256<float> t2 = Avx2.GatherVector256(r2, col, 4);
                            a0 = Avx.BlendVariable(Fma.MultiplyAdd(t0, kj, a0), Avx.Add(a0, Avx.Multiply(t0, kj)), usePlain);
                            a1 = Avx.BlendVariable(Fma.MultiplyAdd(t1, kj, a1), Avx.Add(a1, Avx.Multiply(t1, kj)), usePlain);
                            a2 = Avx.BlendVariable(Fma.MultiplyAdd(t2, kj, a2), Avx.Add(a2, Avx.Multiply(t2, kj)), usePlain);
                        }
                        Avx.Store(d0 + b * 8, a0);
                        Avx.Store(d1 + b * 8, a1);
                        Avx.Store(d2 + b * 8, a2);
                    }
                    // tail columns (outW not a multiple of 8): scalar, same operation order
                    for (int ox = blocks * 8; ox < outW; ox++)
                    {
                        int xm = bounds[2 * ox], xs = bounds[2 * ox + 1], pl = PlainTaps(xs, fused);
                        float* k = wts + ox * ks;
                        float a0 = r0[xm] * k[0], a1 = r1[xm] * k[0], a2 = r2[xm] * k[0];
                        int j = 1;
                        for (; j < pl; j++) { a0 += r0[xm + j] * k[j]; a1 += r1[xm + j] * k[j]; a2 += r2[xm + j] * k[j]; }
                        for (; j < xs; j++)
                        {
                            a0 = MathF.FusedMultiplyAdd(r0[xm + j], k[j], a0);
                            a1 = MathF.FusedMultiplyAdd(r1[xm + j], k[j], a1);
                            a2 = MathF.FusedMultiplyAdd(r2[xm + j], k[j], a2);
                        }
                        d0[ox] = a0; d1[ox] = a1; d2[ox] = a2;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowBuf);
            ArrayPool<float>.Shared.Return(wt);
            ArrayPool<int>.Shared.Return(meta);
        }
    }

    internal static unsafe void Vertical(float* src, int width, int height, int outH, in AntialiasWeights w, float* dst, bool vec, bool fused)
    {
        int ks = w.KSize;
        fixed (int* bounds = w.Bounds)
        fixed (float* wts = w.Weights)
        {
            for (int c = 0; c < 3; c++)
            {
                float* sp = src + (long)c * width * height;
                float* dp = dst + (long)c * width * outH;
                for (int oy = 0; oy < outH; oy++)
                {
                    int ymin = bounds[2 * oy], ys = bounds[2 * oy + 1];
                    int plain = PlainTaps(ys, fused);
                    float* k = wts + oy * ks;
                    float* s0 = sp + (long)ymin * width;
                    float* d = dp + (long)oy * width;
                    int x = 0;
                    if (vec)
                    {
                        for (; x + 8 <= width; x += 8)
                        {
                            Vector256<float> acc = Avx.Multiply(Avx.LoadVector256(s0 + x), Vector256.Create(k[0]));
                            float* s = s0 + x;
                            int j = 1;
                            for (; j < plain; j++)
                                acc = Avx.Add(acc, Avx.Multiply(Avx.LoadVector256(s + (long)j * width), Vector256.Create(k[j])));
                            for (; j < ys; j++)
                                acc = Fma.MultiplyAdd(Avx.LoadVector256(s + (long)j * width), Vector256.Create(k[j]), acc);
                            Avx.Store(d + x, acc);
                        }
                    }
                    for (; x < width; x++)
                    {
                        float* s = s0 + x;
                        float acc = *s * k[0];
                        int j = 1;
                        for (; j < plain; j++) acc += s[(long)j * width] * k[j];
                        for (; j < ys; j++) acc = MathF.FusedMultiplyAdd(s[(long)j * width], k[j], acc);
                        d[x] = acc;
                    }
                }
            }
        }
    }
}
