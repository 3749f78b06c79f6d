using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NanoVlm.Kernels.Internal;

namespace NanoVlm.Kernels;

/// <summary>
/// Pillow 9.4 <c>Image.resize((w, h), Image.BICUBIC)</c> for RGB8 images, byte-identical: fixed-point coefficients
/// (22 fractional bits), horizontal pass first over only the source rows the vertical pass reads, clip8 between
/// the passes, a pass skipped when its dimension is unchanged. SIMD (SSE4.1/AVX2) integer math equals the scalar
/// path exactly. Thread-safe; scratch comes from <see cref="ArrayPool{T}.Shared"/>, so the steady state does not allocate.
/// </summary>
public static class BicubicResizer
{
    /// <summary>Resizes interleaved RGB8 <paramref name="src"/> (<paramref name="srcWidth"/>×<paramref name="srcHeight"/>)
    /// into <paramref name="dst"/> (<paramref name="dstWidth"/>×<paramref name="dstHeight"/>, interleaved RGB8).</summary>
    /// <exception cref="ImageSizeException">A size is zero/negative or too large.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its image.</exception>
    public static void Resize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, Span<byte> dst, int dstWidth, int dstHeight)
        => Resize(src, srcWidth, srcHeight, dst, dstWidth, dstHeight, simd: true);

    internal static void Resize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, Span<byte> dst, int dstWidth, int dstHeight, bool simd)
    {
        CheckArgs(src.Length, srcWidth, srcHeight, dst.Length, dstWidth, dstHeight);
        bool needH = dstWidth != srcWidth, needV = dstHeight != srcHeight;
        if (!needH && !needV)
        {
            src[..(3 * srcWidth * srcHeight)].CopyTo(dst);
            return;
        }
        var vert = ResampleCoefficients.Compute(srcHeight, dstHeight);
        byte[]? temp = null;
        try
        {
            int yFirst = vert.Bounds[0];
            int yLast = vert.Bounds[dstHeight * 2 - 2] + vert.Bounds[dstHeight * 2 - 1];
            if (!needH) { yFirst = 0; }
            if (needH)
            {
                var horiz = ResampleCoefficients.Compute(srcWidth, dstWidth);
                try
                {
                    int rows = yLast - yFirst;
                    if (!needV)
                    {
                        Horizontal(src, srcWidth, yFirst, rows, dst, dstWidth, horiz, simd);
                        return;
                    }
                    temp = ArrayPool<byte>.Shared.Rent(3 * dstWidth * rows);
                    Horizontal(src, srcWidth, yFirst, rows, temp, dstWidth, horiz, simd);
                }
                finally { horiz.Return(); }
                Vertical(temp, dstWidth, yFirst, dst, dstHeight, vert, simd);
            }
            else
            {
                Vertical(src, srcWidth, 0, dst, dstHeight, vert, simd);
            }
        }
        finally
        {
            vert.Return();
            if (temp != null) ArrayPool<byte>.Shared.Return(temp);
        }
    }

    internal static void CheckArgs(int srcLen, int srcWidth, int srcHeight, int dstLen, int dstWidth, int dstHeight)
    {
        if (srcWidth <= 0 || srcHeight <= 0)
            throw new ImageSizeException(ImageSizeError.NonPositive, srcWidth, srcHeight, "Source width and height must be positive");
        if (dstWidth <= 0 || dstHeight <= 0)
            throw new ImageSizeException(ImageSizeError.NonPositive, dstWidth, dstHeight, "Target width and height must be positive");
        if (3L * srcWidth * srcHeight > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, srcWidth, srcHeight, "Source bytes do not fit one span");
        if (3L * dstWidth * dstHeight > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, dstWidth, dstHeight, "Target bytes do not fit one span");
        if (srcLen < 3 * srcWidth * srcHeight)
            throw new ArgumentException($"Source span has {srcLen} bytes, a {srcWidth}x{srcHeight} RGB8 image needs {3L * srcWidth * srcHeight}", "src");
        if (dstLen < 3 * dstWidth * dstHeight)
            throw new ArgumentException($"Destination span has {dstLen} bytes, a {dstWidth}x{dstHeight} RGB8 image needs {3L * dstWidth * dstHeight}", "dst");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte Clip8(int v)
    {
        v >>= ResampleCoefficients.PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>Horizontal pass over source rows [y0, y0 + rows) into <paramref name="dst"/> rows [0, rows).</summary>
    internal static unsafe void Horizontal(ReadOnlySpan<byte> src, int srcWidth, int y0, int rows, Span<byte> dst, int dstWidth,
        in ResampleCoefficients c, bool simd)
    {
        int ksize = c.KSize;
        int srcStride = 3 * srcWidth, dstStride = 3 * dstWidth;
        long srcLen = src.Length;
        bool wide = simd && WideSimd.Enabled;
        var plan = wide ? HorizontalBlockPlan.Build(c, dstWidth) : default;
        try
        {
            fixed (byte* ps = src)
            fixed (byte* pd = dst)
            fixed (int* bounds = c.Bounds)
            fixed (int* kk = c.Coeffs)
            fixed (int* taps = plan.Taps)
            fixed (int* bas = plan.Base)
            fixed (byte* index = plan.Index)
            fixed (int* coeffs = plan.Coeffs)
            {
                bool vec = simd && Sse41.IsSupported;
                for (int yy = 0; yy < rows; yy++)
                {
                    byte* srow = ps + (long)(yy + y0) * srcStride;
                    byte* drow = pd + (long)yy * dstStride;
                    long avail = srcLen - (long)(yy + y0) * srcStride;
                    int xx = 0;
                    if (wide)
                    {
                        for (int b = 0; b < plan.Blocks; b++)
                        {
                            int t = taps[b];
                            if (t > 0 && 3L * bas[b] + 128 <= avail)
                                HorizontalBlockPlan.RunBlock(srow, drow, b, t, bas[b], index, coeffs, plan.KSize);
                            else
                                HorizontalPixels(srow, drow, avail, b * HorizontalBlockPlan.Lanes, (b + 1) * HorizontalBlockPlan.Lanes, bounds, kk, ksize, vec);
                        }
                        xx = plan.Blocks * HorizontalBlockPlan.Lanes;
                    }
                    HorizontalPixels(srow, drow, avail, xx, dstWidth, bounds, kk, ksize, vec);
                }
            }
        }
        finally
        {
            if (wide) plan.Return();
        }
    }

    /// <summary>Output pixels [x0, x1) of one row, one pixel at a time (SSE4.1 over its three channels, or scalar).</summary>
    private static unsafe void HorizontalPixels(byte* srow, byte* drow, long avail, int x0, int x1, int* bounds, int* kk, int ksize, bool vec)
    {
        for (int xx = x0; xx < x1; xx++)
        {
            int xmin = bounds[2 * xx], xsize = bounds[2 * xx + 1];
            int* k = kk + xx * ksize;
            byte* p = srow + xmin * 3;
            if (vec && (long)(xmin + xsize - 1) * 3 + 4 <= avail)
            {
                Vector128<int> acc = Vector128.Create(ResampleCoefficients.Half);
                for (int x = 0; x < xsize; x++)
                {
                    Vector128<int> px = Sse41.ConvertToVector128Int32(p + x * 3);
                    acc = Sse2.Add(acc, Sse41.MultiplyLow(px, Vector128.Create(k[x])));
                }
                acc = Sse2.ShiftRightArithmetic(acc, ResampleCoefficients.PrecisionBits);
                Vector128<short> s = Sse2.PackSignedSaturate(acc, acc);
                uint packed = Sse2.PackUnsignedSaturate(s, s).AsUInt32().ToScalar();
                drow[xx * 3] = (byte)packed;
                drow[xx * 3 + 1] = (byte)(packed >> 8);
                drow[xx * 3 + 2] = (byte)(packed >> 16);
            }
            else
            {
                int s0 = ResampleCoefficients.Half, s1 = s0, s2 = s0;
                for (int x = 0; x < xsize; x++)
                {
                    int kv = k[x];
                    s0 += p[x * 3] * kv;
                    s1 += p[x * 3 + 1] * kv;
                    s2 += p[x * 3 + 2] * kv;
                }
                drow[xx * 3] = Clip8(s0);
                drow[xx * 3 + 1] = Clip8(s1);
                drow[xx * 3 + 2] = Clip8(s2);
            }
        }
    }

    /// <summary>Vertical pass; <paramref name="c"/> bounds are in source rows, <paramref name="rowOffset"/> is the first row held by <paramref name="src"/>.</summary>
    internal static unsafe void Vertical(ReadOnlySpan<byte> src, int width, int rowOffset, Span<byte> dst, int dstHeight,
        in ResampleCoefficients c, bool simd)
    {
        int ksize = c.KSize;
        int stride = 3 * width;
        fixed (byte* ps = src)
        fixed (byte* pd = dst)
        fixed (int* bounds = c.Bounds)
        fixed (int* kk = c.Coeffs)
        {
            bool vec = simd && Avx2.IsSupported, wide = simd && WideSimd.Enabled;
            for (int yy = 0; yy < dstHeight; yy++)
                VerticalRow(ps + (long)(bounds[2 * yy] - rowOffset) * stride, stride, bounds[2 * yy + 1], kk + yy * ksize, pd + (long)yy * stride, vec, wide);
        }
    }

    /// <summary>One output row of the vertical pass: <paramref name="ysize"/> source rows from <paramref name="s0p"/>
    /// (<paramref name="stride"/> bytes apart) weighted by <paramref name="k"/> into <paramref name="drow"/>.</summary>
    internal static unsafe void VerticalRow(byte* s0p, int stride, int ysize, int* k, byte* drow, bool vec, bool wide)
    {
        int i = 0;
        if (wide)
        {
            Vector512<int> half = Vector512.Create(ResampleCoefficients.Half);
            for (; i + 64 <= stride; i += 64)
            {
                Vector512<int> a0 = half, a1 = half, a2 = half, a3 = half;
                byte* p = s0p + i;
                for (int y = 0; y < ysize; y++, p += stride)
                {
                    Vector512<int> kv = Vector512.Create(k[y]);
                    a0 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(Vector128.Load(p)), kv);
                    a1 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(Vector128.Load(p + 16)), kv);
                    a2 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(Vector128.Load(p + 32)), kv);
                    a3 += Avx512F.MultiplyLow(Avx512F.ConvertToVector512Int32(Vector128.Load(p + 48)), kv);
                }
                HorizontalBlockPlan.StoreClip8(a0, drow + i);
                HorizontalBlockPlan.StoreClip8(a1, drow + i + 16);
                HorizontalBlockPlan.StoreClip8(a2, drow + i + 32);
                HorizontalBlockPlan.StoreClip8(a3, drow + i + 48);
            }
        }
        if (vec)
        {
            Vector256<int> half = Vector256.Create(ResampleCoefficients.Half);
            Vector256<int> zero = Vector256<int>.Zero, max = Vector256.Create(255);
            for (; i + 32 <= stride; i += 32)
            {
                Vector256<int> a0 = half, a1 = half, a2 = half, a3 = half;
                byte* p = s0p + i;
                for (int y = 0; y < ysize; y++, p += stride)
                {
                    Vector256<int> kv = Vector256.Create(k[y]);
                    a0 = Avx2.Add(a0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), kv));
                    a1 = Avx2.Add(a1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 8), kv));
                    a2 = Avx2.Add(a2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 16), kv));
                    a3 = Avx2.Add(a3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 24), kv));
                }
                a0 = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(a0, ResampleCoefficients.PrecisionBits), zero), max);
                a1 = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(a1, ResampleCoefficients.PrecisionBits), zero), max);
                a2 = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(a2, ResampleCoefficients.PrecisionBits), zero), max);
                a3 = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(a3, ResampleCoefficients.PrecisionBits), zero), max);
                Vector256<byte> b = Vector256.Narrow(Vector256.Narrow(a0, a1), Vector256.Narrow(a2, a3)).AsByte();
                b.Store(drow + i);
            }
        }
        for (; i < stride; i++)
        {
            int ss = ResampleCoefficients.Half;
            byte* p = s0p + i;
            for (int y = 0; y < ysize; y++, p += stride) ss += *p * k[y];
            drow[i] = Clip8(ss);
        }
    }
}
