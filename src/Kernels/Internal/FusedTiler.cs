using System.Buffers;

namespace NanoVlm.Kernels.Internal;

/// <summary>The tile format a fused run writes.</summary>
internal enum FusedTileFormat
{
    /// <summary>float32, <c>byte / 255f</c>.</summary>
    Float32,

    /// <summary>The bytes themselves.</summary>
    UInt8,

    /// <summary>bfloat16 bits of <c>byte / 255f</c>.</summary>
    BFloat16,
}

/// <summary>
/// Resize, tiles and global tile in one pass over the resized image: each output row of the bicubic vertical pass
/// goes, while it is in cache, into its tiles and through the global tile's horizontal pass; the resized image is
/// never stored whole (unless the caller asks for it) and never read back. The kernels are the separate stages'
/// own, so the output is the same bytes. Taken when the 512-bit kernels run and both passes of the resize are needed
/// (else <see cref="TryProcess"/> returns false and the caller runs the stages one after another).
/// </summary>
internal static unsafe class FusedTiler
{
    /// <summary>
    /// Runs the fused path, or returns false (nothing written) when it does not apply. <paramref name="tiles"/> points
    /// at the grid tiles (element type by <paramref name="format"/>), <paramref name="global"/> at 3·S·S floats when
    /// the grid has a global tile; <paramref name="resizedOut"/>, when not null, receives the resized RGB8 bytes.
    /// </summary>
    public static bool TryProcess(ReadOnlySpan<byte> rgb, int width, int height, in ImageGeometry g, GlobalTileAccumulation accumulation,
        float* global, void* tiles, FusedTileFormat format, byte* resizedOut)
    {
        int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize;
        if (!WideSimd.Enabled || tw == width || th == height) return false;
        bool fused = accumulation == GlobalTileAccumulation.TorchAvx2;
        bool hasGlobal = g.Grid.HasGlobalTile;
        AntialiasWeights gw = default;
        GlobalPhasePlan phases = default;
        if (hasGlobal)
        {
            if (tw == s) return false;
            gw = AntialiasWeights.Compute(tw, s);
            if (!GlobalPhasePlan.TryCreate(tw, s, gw, fused, out phases))
            {
                gw.Return();
                return false;
            }
        }
        var vert = ResampleCoefficients.Compute(height, th);
        var horiz = ResampleCoefficients.Compute(width, tw);
        int yFirst = vert.Bounds[0], yLast = vert.Bounds[th * 2 - 2] + vert.Bounds[th * 2 - 1];
        int stride = 3 * tw;
        byte[] temp = ArrayPool<byte>.Shared.Rent(stride * (yLast - yFirst));
        byte[]? rowBuf = resizedOut == null ? ArrayPool<byte>.Shared.Rent(stride) : null;
        bool needGlobalV = hasGlobal && th != s;
        float[]? gTemp = needGlobalV ? ArrayPool<float>.Shared.Rent(3 * s * th) : null;
        try
        {
            BicubicResizer.Horizontal(rgb, width, yFirst, yLast - yFirst, temp, tw, horiz, simd: true);
            fixed (byte* pt = temp)
            fixed (byte* prow = rowBuf)
            fixed (float* pg = gTemp)
            fixed (int* bounds = vert.Bounds)
            fixed (int* kk = vert.Coeffs)
            fixed (ushort* bf16 = TileWriter.BFloat16Table)
            {
                float* hOut = needGlobalV ? pg : global;
                long gPlane = (long)s * th;
                int nw = tw / s;
                for (int yy = 0; yy < th; yy++)
                {
                    byte* drow = resizedOut != null ? resizedOut + (long)yy * stride : prow;
                    BicubicResizer.VerticalRow(pt + (long)(bounds[2 * yy] - yFirst) * stride, stride, bounds[2 * yy + 1],
                        kk + yy * vert.KSize, drow, vec: true, wide: true);
                    switch (format)
                    {
                        case FusedTileFormat.Float32: TileWriter.WriteTileRowFloat32(drow, tw, yy, s, (float*)tiles, nw, vec: true); break;
                        case FusedTileFormat.UInt8: TileWriter.WriteTileRowUInt8(drow, tw, yy, s, (byte*)tiles, nw); break;
                        default: TileWriter.WriteTileRowMapped(drow, yy, s, (ushort*)tiles, nw, bf16); break;
                    }
                    if (hasGlobal)
                    {
                        float* d0 = hOut + (long)yy * s;
                        phases.RunRow(drow, stride, d0, d0 + gPlane, d0 + 2 * gPlane, gw, fused);
                    }
                }
                if (needGlobalV)
                {
                    var wv = AntialiasWeights.Compute(th, s);
                    try { GlobalTileResizer.Vertical(pg, s, th, s, wv, global, vec: true, fused); }
                    finally { wv.Return(); }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
            if (rowBuf != null) ArrayPool<byte>.Shared.Return(rowBuf);
            if (gTemp != null) ArrayPool<float>.Shared.Return(gTemp);
            vert.Return();
            horiz.Return();
            if (hasGlobal)
            {
                phases.Return();
                gw.Return();
            }
        }
        return true;
    }
}
