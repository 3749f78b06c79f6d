using System.Buffers;
using System.Runtime.InteropServices;
using NanoVlm.Kernels.Internal;

namespace NanoVlm.Kernels;

/// <summary>
/// The whole per-image path on the CPU (SIMD): decoded RGB8 → DynamicResize (Pillow-exact bicubic) → tiles
/// [1 + n_h·n_w, 3, S, S] (global first when the grid is not 1×1) written straight into the caller's span.
/// Thread-safe; call it from many threads on different images.
/// </summary>
public static class ImageTiler
{
    /// <summary>Geometry (target size, grid, token count, output size) of a source size; throws on bad sizes.</summary>
    public static ImageGeometry Plan(int width, int height, ImagePipelineOptions? options = null)
        => DynamicResize.Compute(width, height, options);

    /// <summary>Processes one image into <paramref name="destination"/> (at least <see cref="ImageGeometry.OutputFloatCount"/> floats).</summary>
    /// <exception cref="ImageSizeException">Bad or too large size; nothing is written.</exception>
    /// <exception cref="ArgumentException">A span is too short; nothing is written.</exception>
    public static ImageGeometry Process(ReadOnlySpan<byte> rgb, int width, int height, Span<float> destination, ImagePipelineOptions? options = null)
        => Process(rgb, width, height, destination, Span<byte>.Empty, options);

    /// <summary>As <see cref="Process(ReadOnlySpan{byte}, int, int, Span{float}, ImagePipelineOptions?)"/>, also copying the
    /// resized RGB8 bytes into <paramref name="resizedOut"/> when it is not empty (it must then hold <see cref="ImageGeometry.ResizedByteCount"/> bytes).</summary>
    public static ImageGeometry Process(ReadOnlySpan<byte> rgb, int width, int height, Span<float> destination, Span<byte> resizedOut, ImagePipelineOptions? options = null)
    {
        var g = Validate(rgb.Length, width, height, destination.Length, resizedOut.Length, options);
        int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize;
        if (Fused(rgb, width, height, g, options, destination, MemoryMarshal.AsBytes(destination[(g.Grid.HasGlobalTile ? (int)g.TileFloatCount : 0)..]),
            FusedTileFormat.Float32, resizedOut))
            return g;
        byte[]? rented = null;
        Span<byte> resized = resizedOut.IsEmpty ? (rented = ArrayPool<byte>.Shared.Rent((int)g.ResizedByteCount)) : resizedOut;
        try
        {
            resized = resized[..(int)g.ResizedByteCount];
            BicubicResizer.Resize(rgb, width, height, resized, tw, th);
            int tile = (int)g.TileFloatCount;
            if (g.Grid.HasGlobalTile)
            {
                GlobalTileResizer.Resize(resized, tw, th, s, destination[..tile], (options ?? ImagePipelineOptions.Default).GlobalAccumulation);
                TileWriter.WriteTiles(resized, tw, th, s, destination.Slice(tile, (int)(g.OutputFloatCount - tile)));
            }
            else
            {
                TileWriter.WriteTiles(resized, tw, th, s, destination[..tile]);
            }
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
        return g;
    }

    /// <summary>
    /// The split-format variant: the global tile (when the grid is not 1×1) as float32 into <paramref name="globalTile"/>
    /// (3·S·S floats, exactly <see cref="Process(ReadOnlySpan{byte}, int, int, Span{float}, ImagePipelineOptions?)"/>'s
    /// first tile) and the n_h·n_w grid tiles as bytes into <paramref name="tiles"/> ([n_h·n_w, 3, S, S] uint8, see
    /// <see cref="TileWriter.WriteTilesUInt8(ReadOnlySpan{byte}, int, int, int, Span{byte})"/>). The global tile is a float resize of the float image, not a byte
    /// image, so only the grid tiles can travel as bytes without changing a value.
    /// </summary>
    /// <exception cref="ImageSizeException">Bad or too large size; nothing is written.</exception>
    /// <exception cref="ArgumentException">A span is too short; nothing is written.</exception>
    public static ImageGeometry ProcessUInt8(ReadOnlySpan<byte> rgb, int width, int height, Span<float> globalTile, Span<byte> tiles, ImagePipelineOptions? options = null)
    {
        var g = DynamicResize.Compute(width, height, options);
        if (rgb.Length < 3L * width * height)
            throw new ArgumentException($"Source span has {rgb.Length} bytes, a {width}x{height} RGB8 image needs {3L * width * height}", "rgb");
        int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize, tile = (int)g.TileFloatCount;
        if (g.Grid.HasGlobalTile && globalTile.Length < tile)
            throw new ArgumentException($"Global tile has {globalTile.Length} elements, [3,{s},{s}] needs {tile}", nameof(globalTile));
        if (tiles.Length < g.ResizedByteCount)
            throw new ArgumentException($"Tiles have {tiles.Length} bytes, the grid [{g.Grid.TileCount},3,{s},{s}] needs {g.ResizedByteCount}", nameof(tiles));
        if (Fused(rgb, width, height, g, options, globalTile, tiles, FusedTileFormat.UInt8, Span<byte>.Empty))
            return g;
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)g.ResizedByteCount);
        try
        {
            var resized = rented.AsSpan(0, (int)g.ResizedByteCount);
            BicubicResizer.Resize(rgb, width, height, resized, tw, th);
            if (g.Grid.HasGlobalTile)
                GlobalTileResizer.Resize(resized, tw, th, s, globalTile[..tile], (options ?? ImagePipelineOptions.Default).GlobalAccumulation);
            TileWriter.WriteTilesUInt8(resized, tw, th, s, tiles[..(int)g.ResizedByteCount]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        return g;
    }

    /// <summary>bfloat16 output variant (bits in <paramref name="destination"/>); values are the float path's rounded to nearest even.</summary>
    public static ImageGeometry ProcessBFloat16(ReadOnlySpan<byte> rgb, int width, int height, Span<ushort> destination, ImagePipelineOptions? options = null)
    {
        var g = Validate(rgb.Length, width, height, destination.Length, 0, options);
        int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize, tile = (int)g.TileFloatCount;
        if (g.Grid.HasGlobalTile && WideSimd.Enabled)
        {
            // fused: the global tile as float32 into pooled scratch, then rounded to bfloat16 like the separate path
            float[] globF = ArrayPool<float>.Shared.Rent(tile);
            try
            {
                if (Fused(rgb, width, height, g, options, globF.AsSpan(0, tile), MemoryMarshal.AsBytes(destination[tile..]), FusedTileFormat.BFloat16, Span<byte>.Empty))
                {
                    for (int i = 0; i < tile; i++) destination[i] = TileWriter.ToBFloat16(globF[i]);
                    return g;
                }
            }
            finally { ArrayPool<float>.Shared.Return(globF); }
        }
        else if (!g.Grid.HasGlobalTile && Fused(rgb, width, height, g, options, Span<float>.Empty, MemoryMarshal.AsBytes(destination), FusedTileFormat.BFloat16, Span<byte>.Empty))
        {
            return g;
        }
        byte[] resized = ArrayPool<byte>.Shared.Rent((int)g.ResizedByteCount);
        float[]? glob = g.Grid.HasGlobalTile ? ArrayPool<float>.Shared.Rent(tile) : null;
        try
        {
            BicubicResizer.Resize(rgb, width, height, resized, tw, th);
            int offset = 0;
            if (glob != null)
            {
                GlobalTileResizer.Resize(resized, tw, th, s, glob.AsSpan(0, tile), (options ?? ImagePipelineOptions.Default).GlobalAccumulation);
                for (int i = 0; i < tile; i++) destination[i] = TileWriter.ToBFloat16(glob[i]);
                offset = tile;
            }
            TileWriter.WriteTilesBFloat16(resized, tw, th, s, destination.Slice(offset, 3 * tw * th));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(resized);
            if (glob != null) ArrayPool<float>.Shared.Return(glob);
        }
        return g;
    }

    // The fused single pass (resize rows straight into tiles and the global tile) where it applies.
    private static unsafe bool Fused(ReadOnlySpan<byte> rgb, int width, int height, in ImageGeometry g, ImagePipelineOptions? options,
        Span<float> global, Span<byte> tiles, FusedTileFormat format, Span<byte> resizedOut)
    {
        if (!WideSimd.Enabled) return false;
        fixed (float* pg = global)
        fixed (byte* pt = tiles)
        fixed (byte* pr = resizedOut)
            return FusedTiler.TryProcess(rgb, width, height, g, (options ?? ImagePipelineOptions.Default).GlobalAccumulation, pg, pt, format, pr);
    }

    internal static ImageGeometry Validate(int rgbLen, int width, int height, int dstLen, int resizedLen, ImagePipelineOptions? options)
    {
        var g = DynamicResize.Compute(width, height, options);
        if (rgbLen < 3L * width * height)
            throw new ArgumentException($"Source span has {rgbLen} bytes, a {width}x{height} RGB8 image needs {3L * width * height}", "rgb");
        if (dstLen < g.OutputFloatCount)
            throw new ArgumentException($"Destination has {dstLen} elements, the output [{g.Grid.OutputTileCount},3,{g.SplitSize},{g.SplitSize}] needs {g.OutputFloatCount}", "destination");
        if (resizedLen != 0 && resizedLen < g.ResizedByteCount)
            throw new ArgumentException($"Resized output has {resizedLen} bytes, need {g.ResizedByteCount}", "resizedOut");
        return g;
    }
}
