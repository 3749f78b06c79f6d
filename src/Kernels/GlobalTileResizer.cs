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
                    try { Horizontal(ps, width, height, size, w, hOut, fused); }
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
