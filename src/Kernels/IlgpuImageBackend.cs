using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using NanoVlm.Kernels.Internal;

namespace NanoVlm.Kernels;

/// <summary>
/// The image path as ILGPU kernels: Pillow-exact horizontal and vertical bicubic passes (integer math identical to
/// <see cref="BicubicResizer"/>), tiling with float conversion, and the antialiased global tile (float operations in
/// the order of <see cref="GlobalTileResizer"/>). Runs on CUDA when a device is present, else on ILGPU's CPU
/// accelerator (an emulator: slow, used to test every kernel without a GPU). Kernels are compiled once per backend;
/// device buffers and page-locked (pinned) staging grow on demand and are reused. Calls are serialised by a lock.
/// </summary>
public sealed class IlgpuImageBackend : IDisposable
{
    private readonly Context _context;
    private readonly Accelerator _acc;
    private readonly object _gate = new();

    private readonly Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<int>, int, int, int, int> _horizontal;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<int>, int, int, int> _vertical;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<float>, int, int, int> _tiles;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int> _globalH;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<float>, int> _toPlanar;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int> _globalV;

    private MemoryBuffer1D<byte, Stride1D.Dense>? _src, _tmp, _resized;
    private MemoryBuffer1D<float, Stride1D.Dense>? _out, _gtmp;
    private MemoryBuffer1D<int, Stride1D.Dense>? _bounds1, _bounds2, _coef1, _coef2;
    private MemoryBuffer1D<float, Stride1D.Dense>? _wts1, _wts2;
    private byte[] _stageIn = [];
    private float[] _stageOut = [];

    private IlgpuImageBackend(Context context, Accelerator accelerator)
    {
        _context = context;
        _acc = accelerator;
        _horizontal = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<int>, int, int, int, int>(HorizontalKernel);
        _vertical = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<int>, int, int, int>(VerticalKernel);
        _tiles = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, int, int, int>(TileKernel);
        _globalH = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(GlobalHorizontalKernel);
        _toPlanar = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, int>(ToPlanarKernel);
        _globalV = _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(GlobalVerticalKernel);
    }

    /// <summary>A backend on the first CUDA device when one is present (and <paramref name="preferCuda"/>), else on ILGPU's CPU accelerator.</summary>
    public static IlgpuImageBackend Create(bool preferCuda = true)
    {
        var context = Context.Create(b => b.Default().Math(MathMode.Default));
        try
        {
            if (preferCuda && context.GetCudaDevices().Count > 0)
                return new IlgpuImageBackend(context, context.CreateCudaAccelerator(0));
            return new IlgpuImageBackend(context, context.CreateCPUAccelerator(0));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A backend on ILGPU's CPU accelerator (what CI uses to test the kernels).</summary>
    public static IlgpuImageBackend CreateCpu() => Create(preferCuda: false);

    /// <summary>Name of the accelerator device.</summary>
    public string DeviceName => _acc.Name;

    /// <summary>True when running on CUDA.</summary>
    public bool IsCuda => _acc.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>Same contract and output as <see cref="ImageTiler.Process(ReadOnlySpan{byte}, int, int, Span{float}, Span{byte}, ImagePipelineOptions?)"/>.</summary>
    public ImageGeometry Process(ReadOnlySpan<byte> rgb, int width, int height, Span<float> destination, Span<byte> resizedOut = default, ImagePipelineOptions? options = null)
    {
        var g = ImageTiler.Validate(rgb.Length, width, height, destination.Length, resizedOut.Length, options);
        lock (_gate)
        {
            int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize;
            var resized = ResizeOnDevice(rgb, width, height, tw, th);
            int n = (int)g.OutputFloatCount, tile = (int)g.TileFloatCount;
            var output = Grow(ref _out, n).View.SubView(0, n);
            int first = g.Grid.HasGlobalTile ? tile : 0;
            if (g.Grid.HasGlobalTile) GlobalOnDevice(resized, tw, th, s, output.SubView(0, tile), (options ?? ImagePipelineOptions.Default).GlobalAccumulation == GlobalTileAccumulation.TorchAvx2 ? 1 : 0);
            _tiles(3 * tw * th, resized, output.SubView(first, 3L * tw * th), tw, s, tw / s);
            if (!resizedOut.IsEmpty) DownloadBytes(resized, resizedOut[..(3 * tw * th)]);
            Download(output, destination[..n]);
            return g;
        }
    }

    /// <summary>Pillow-exact bicubic resize on the device (for tests and for callers that want only the resized bytes).</summary>
    public void Resize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, Span<byte> dst, int dstWidth, int dstHeight)
    {
        BicubicResizer.CheckArgs(src.Length, srcWidth, srcHeight, dst.Length, dstWidth, dstHeight);
        lock (_gate)
        {
            var r = ResizeOnDevice(src, srcWidth, srcHeight, dstWidth, dstHeight);
            DownloadBytes(r, dst[..(3 * dstWidth * dstHeight)]);
        }
    }

    private ArrayView<byte> ResizeOnDevice(ReadOnlySpan<byte> rgb, int w, int h, int tw, int th)
    {
        int srcBytes = 3 * w * h, dstBytes = 3 * tw * th;
        var src = Grow(ref _src, srcBytes).View.SubView(0, srcBytes);
        Upload(rgb[..srcBytes], src);
        var dst = Grow(ref _resized, dstBytes).View.SubView(0, dstBytes);
        bool needH = tw != w, needV = th != h;
        if (!needH && !needV)
        {
            src.CopyTo(dst);
            return dst;
        }
        var vert = ResampleCoefficients.Compute(h, th);
        try
        {
            int yFirst = needH ? vert.Bounds[0] : 0;
            int yLast = vert.Bounds[th * 2 - 2] + vert.Bounds[th * 2 - 1];
            if (needH)
            {
                var hc = ResampleCoefficients.Compute(w, tw);
                try
                {
                    int rows = needV ? yLast - yFirst : h;
                    if (!needV) yFirst = 0;
                    ArrayView<byte> target = needV ? (ArrayView<byte>)Grow(ref _tmp, 3 * tw * rows).View.SubView(0, 3L * tw * rows) : dst;
                    var (b, c) = UploadCoeffs(hc.Bounds, 2 * tw, hc.Coeffs, tw * hc.KSize, ref _bounds1, ref _coef1);
                    _horizontal(rows * tw, src, target, b, c, hc.KSize, w, tw, yFirst);
                    if (!needV) return dst;
                    src = target;
                }
                finally { hc.Return(); }
            }
            var (vb, vc) = UploadCoeffs(vert.Bounds, 2 * th, vert.Coeffs, th * vert.KSize, ref _bounds2, ref _coef2);
            _vertical(th * 3 * tw, src, dst, vb, vc, vert.KSize, 3 * tw, yFirst);
            return dst;
        }
        finally { vert.Return(); }
    }

    private void GlobalOnDevice(ArrayView<byte> resized, int w, int h, int size, ArrayView<float> dst, int fused)
    {
        bool needH = w != size, needV = h != size;
        int planeW = needH ? size : w;
        ArrayView<float> tmp = needV ? (ArrayView<float>)Grow(ref _gtmp, 3 * planeW * h).View.SubView(0, 3L * planeW * h) : dst;
        if (needH)
        {
            var wh = AntialiasWeights.Compute(w, size);
            try
            {
                var (b, k) = UploadWeights(wh.Bounds, 2 * size, wh.Weights, size * wh.KSize, ref _bounds1, ref _wts1);
                _globalH(h * size, resized, tmp, b, k, wh.KSize, w, size, fused);
            }
            finally { wh.Return(); }
        }
        else
        {
            _toPlanar(w * h, resized, tmp, w * h);
        }
        if (needV)
        {
            var wv = AntialiasWeights.Compute(h, size);
            try
            {
                var (b, k) = UploadWeights(wv.Bounds, 2 * size, wv.Weights, size * wv.KSize, ref _bounds2, ref _wts2);
                _globalV(3 * size * planeW, tmp, dst, b, k, wv.KSize, planeW, h, fused);
            }
            finally { wv.Return(); }
        }
    }

    // ---------------------------------------------------------------- kernels

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int v)
    {
        v >>= ResampleCoefficients.PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>One output pixel (3 channels) of the horizontal pass; index = row · dstWidth + x.</summary>
    private static void HorizontalKernel(Index1D index, ArrayView<byte> src, ArrayView<byte> dst, ArrayView<int> bounds, ArrayView<int> coeffs,
        int ksize, int srcWidth, int dstWidth, int y0)
    {
        int yy = index / dstWidth, xx = index - yy * dstWidth;
        int xmin = bounds[2 * xx], xsize = bounds[2 * xx + 1];
        long p = ((long)(yy + y0) * srcWidth + xmin) * 3;
        int kb = xx * ksize;
        int s0 = ResampleCoefficients.Half, s1 = s0, s2 = s0;
        for (int x = 0; x < xsize; x++)
        {
            int k = coeffs[kb + x];
            long q = p + 3 * x;
            s0 += src[q] * k;
            s1 += src[q + 1] * k;
            s2 += src[q + 2] * k;
        }
        long o = ((long)yy * dstWidth + xx) * 3;
        dst[o] = Clip8(s0);
        dst[o + 1] = Clip8(s1);
        dst[o + 2] = Clip8(s2);
    }

    /// <summary>One output byte of the vertical pass; index = row · stride + byte.</summary>
    private static void VerticalKernel(Index1D index, ArrayView<byte> src, ArrayView<byte> dst, ArrayView<int> bounds, ArrayView<int> coeffs,
        int ksize, int stride, int rowOffset)
    {
        int yy = index / stride, i = index - yy * stride;
        int ymin = bounds[2 * yy] - rowOffset, ysize = bounds[2 * yy + 1];
        int kb = yy * ksize;
        int ss = ResampleCoefficients.Half;
        long p = (long)ymin * stride + i;
        for (int y = 0; y < ysize; y++)
            ss += src[p + (long)y * stride] * coeffs[kb + y];
        dst[index] = Clip8(ss);
    }

    /// <summary>One output float of the tiles [n, 3, S, S]; value = byte / 255f.</summary>
    private static void TileKernel(Index1D index, ArrayView<byte> resized, ArrayView<float> dst, int width, int split, int nw)
    {
        int plane = split * split;
        int t = index / (3 * plane);
        int rem = index - t * 3 * plane;
        int ch = rem / plane;
        rem -= ch * plane;
        int y = rem / split, x = rem - y * split;
        int r = t / nw, c = t - r * nw;
        long srcIdx = ((long)(r * split + y) * width + c * split + x) * 3 + ch;
        dst[index] = resized[srcIdx] / 255f;
    }

    /// <summary>Global tile horizontal pass; index = y · outW + ox; writes planar [3, H, outW].</summary>
    private static void GlobalHorizontalKernel(Index1D index, ArrayView<byte> src, ArrayView<float> dst, ArrayView<int> bounds, ArrayView<float> wts,
        int ks, int width, int outW, int fused)
    {
        int y = index / outW, ox = index - y * outW;
        int xmin = bounds[2 * ox], xs = bounds[2 * ox + 1];
        int plain = fused != 0 ? 1 + 4 * ((xs - 1) / 4) : xs;
        int kb = ox * ks;
        long p = ((long)y * width + xmin) * 3;
        float k0 = wts[kb];
        float a0 = src[p] / 255f * k0, a1 = src[p + 1] / 255f * k0, a2 = src[p + 2] / 255f * k0;
        int j = 1;
        for (; j < plain; j++)
        {
            float kj = wts[kb + j];
            long q = p + 3 * j;
            a0 += src[q] / 255f * kj;
            a1 += src[q + 1] / 255f * kj;
            a2 += src[q + 2] / 255f * kj;
        }
        for (; j < xs; j++)
        {
            float kj = wts[kb + j];
            long q = p + 3 * j;
            a0 = MathF.FusedMultiplyAdd(src[q] / 255f, kj, a0);
            a1 = MathF.FusedMultiplyAdd(src[q + 1] / 255f, kj, a1);
            a2 = MathF.FusedMultiplyAdd(src[q + 2] / 255f, kj, a2);
        }
        long plane = dst.Length / 3;
        dst[index] = a0;
        dst[plane + index] = a1;
        dst[2 * plane + index] = a2;
    }

    /// <summary>Planar float copy (global tile when the width is already the tile size).</summary>
    private static void ToPlanarKernel(Index1D index, ArrayView<byte> src, ArrayView<float> dst, int plane)
    {
        dst[index] = src[3L * index] / 255f;
        dst[plane + index] = src[3L * index + 1] / 255f;
        dst[2L * plane + index] = src[3L * index + 2] / 255f;
    }

    /// <summary>Global tile vertical pass; index = (c · outH + oy) · width + x.</summary>
    private static void GlobalVerticalKernel(Index1D index, ArrayView<float> src, ArrayView<float> dst, ArrayView<int> bounds, ArrayView<float> wts,
        int ks, int width, int height, int fused)
    {
        int outH = (int)(dst.Length / 3 / width);
        int x = index % width;
        int row = index / width;
        int c = row / outH, oy = row - c * outH;
        int ymin = bounds[2 * oy], ys = bounds[2 * oy + 1];
        int kb = oy * ks;
        long p = ((long)c * height + ymin) * width + x;
        int plain = fused != 0 ? 1 + 4 * ((ys - 1) / 4) : ys;
        float acc = src[p] * wts[kb];
        int j = 1;
        for (; j < plain; j++)
            acc += src[p + (long)j * width] * wts[kb + j];
        for (; j < ys; j++)
            acc = MathF.FusedMultiplyAdd(src[p + (long)j * width], wts[kb + j], acc);
        dst[index] = acc;
    }

    // ---------------------------------------------------------------- memory
    // Host copies go through ILGPU's span overloads, which pin the managed memory for the copy. Its `ref T` overloads
    // take a raw address without pinning, so a garbage collection that moved the array mid-copy read (or wrote) the old
    // location: a rare, load-dependent wrong result.

    private MemoryBuffer1D<T, Stride1D.Dense> Grow<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer == null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = _acc.Allocate1D<T>(Math.Max(length, 1));
        }
        return buffer;
    }

    private (ArrayView<int>, ArrayView<int>) UploadCoeffs(int[] bounds, int nb, int[] coeffs, int nc,
        ref MemoryBuffer1D<int, Stride1D.Dense>? bBuf, ref MemoryBuffer1D<int, Stride1D.Dense>? cBuf)
    {
        ArrayView<int> b = Grow(ref bBuf, nb).View.SubView(0, nb);
        ArrayView<int> c = Grow(ref cBuf, nc).View.SubView(0, nc);
        b.CopyFromCPU(new ReadOnlySpan<int>(bounds, 0, nb));
        c.CopyFromCPU(new ReadOnlySpan<int>(coeffs, 0, nc));
        return (b, c);
    }

    private (ArrayView<int>, ArrayView<float>) UploadWeights(int[] bounds, int nb, float[] wts, int nw,
        ref MemoryBuffer1D<int, Stride1D.Dense>? bBuf, ref MemoryBuffer1D<float, Stride1D.Dense>? wBuf)
    {
        ArrayView<int> b = Grow(ref bBuf, nb).View.SubView(0, nb);
        ArrayView<float> w = Grow(ref wBuf, nw).View.SubView(0, nw);
        b.CopyFromCPU(new ReadOnlySpan<int>(bounds, 0, nb));
        w.CopyFromCPU(new ReadOnlySpan<float>(wts, 0, nw));
        return (b, w);
    }

    private void Upload(ReadOnlySpan<byte> data, ArrayView<byte> view)
    {
        if (_stageIn.Length < data.Length) _stageIn = GC.AllocateUninitializedArray<byte>(data.Length, pinned: true);
        data.CopyTo(_stageIn);
        using var scope = _acc.CreatePageLockFromPinned<byte>(Marshal.UnsafeAddrOfPinnedArrayElement(_stageIn, 0), data.Length);
        view.CopyFromPageLockedAsync(_acc.DefaultStream, scope);
        _acc.DefaultStream.Synchronize();
    }

    private void Download(ArrayView<float> view, Span<float> destination)
    {
        int n = destination.Length;
        if (_stageOut.Length < n) _stageOut = GC.AllocateUninitializedArray<float>(n, pinned: true);
        using (var scope = _acc.CreatePageLockFromPinned<float>(Marshal.UnsafeAddrOfPinnedArrayElement(_stageOut, 0), n))
        {
            view.CopyToPageLockedAsync(_acc.DefaultStream, scope);
            _acc.DefaultStream.Synchronize();
        }
        _stageOut.AsSpan(0, n).CopyTo(destination);
    }

    private void DownloadBytes(ArrayView<byte> view, Span<byte> destination)
    {
        _acc.Synchronize();
        view.SubView(0, destination.Length).CopyToCPU(destination);
    }

    /// <summary>Frees device buffers, the accelerator and the ILGPU context.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var b in new MemoryBuffer?[] { _src, _tmp, _resized, _out, _gtmp, _bounds1, _bounds2, _coef1, _coef2, _wts1, _wts2 })
                b?.Dispose();
            _acc.Dispose();
            _context.Dispose();
        }
    }
}
