using NanoVlm.Kernels;
using NanoVlm.Loader.Pipeline.Internal;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// One packed sequence of a <see cref="Batch"/>: views over its pinned slab and what it holds, valid until the batch
/// is disposed. The object belongs to its slab and describes the slab's next pack once the batch is disposed (so that
/// a steady-state run allocates none): keep what must outlive the batch, not the object. The Engine can alias the
/// arrays without a copy from <see cref="Address"/> + the <see cref="Layout"/> offsets (or the pinned
/// <see cref="Backing"/> array).
/// </summary>
public sealed class PackedSequence
{
    private readonly ReusedList<SampleOrigin> _origins = new();
    private readonly ReusedList<int> _sampleImages = new();
    private readonly ReusedList<TileGrid> _grids = new();
    private SlabLease _lease;

    internal PackedSequence(PackLayout layout) => Layout = layout;

    /// <summary>Makes this object describe the pack just built in <paramref name="lease"/>'s slab.</summary>
    internal void Refill(SlabLease lease, int tokens, ReadOnlySpan<SampleOrigin> origins, ReadOnlySpan<int> sampleImages,
        ReadOnlySpan<TileGrid> grids, int tiles)
    {
        _lease = lease;
        Tokens = tokens;
        _origins.Refill(origins);
        _sampleImages.Refill(sampleImages);
        _grids.Refill(grids);
        TileCount = tiles;
        var globals = 0;
        foreach (var g in grids)
            if (g.HasGlobalTile) globals++;
        GlobalTileCount = globals;
    }

    /// <summary>Offsets of the arrays in the slab.</summary>
    public PackLayout Layout { get; }

    /// <summary>Real tokens (samples and their pads); the rest of the sequence is tail padding.</summary>
    public int Tokens { get; private set; }

    /// <summary>Samples in the pack, in order.</summary>
    public int SampleCount => _origins.Count;

    /// <summary>Source and row of every sample, in pack order.</summary>
    public IReadOnlyList<SampleOrigin> Origins => _origins;

    /// <summary>Images of every sample, in pack order.</summary>
    public IReadOnlyList<int> SampleImages => _sampleImages;

    /// <summary>Tile grid of every image, in pack order (1×1 → one tile, else 1 global + n_h·n_w).</summary>
    public IReadOnlyList<TileGrid> ImageGrids => _grids;

    /// <summary>Tiles written (global tiles included).</summary>
    public int TileCount { get; private set; }

    /// <summary>Global tiles among <see cref="TileCount"/> (one per image whose grid is not 1×1).</summary>
    public int GlobalTileCount { get; private set; }

    /// <summary>Address of the slab's first byte (pinned while the batch is alive).</summary>
    public nint Address => _lease.Address;

    /// <summary>The pinned array backing the slab and the slab's offset in it.</summary>
    public (byte[] Array, int Offset) Backing => _lease.Backing;

    /// <summary>Bytes of this pack that carry data (token arrays and the written tiles): what a consumer moves to its
    /// device.</summary>
    public long Bytes => Layout.TilesOffset + (Layout.Format == TileFormat.UInt8
        ? (4L * GlobalTileCount + (TileCount - GlobalTileCount)) * Layout.TileFloats
        : 4L * TileCount * Layout.TileFloats);

    internal void Release() => _lease.Dispose();

    /// <summary>input_ids [L].</summary>
    public Span<int> InputIds => Layout.InputIds(_lease.Span);

    /// <summary>labels [L] (−100 where no loss).</summary>
    public Span<int> Labels => Layout.Labels(_lease.Span);

    /// <summary>attention_mask [L] (1 on sample tokens, 0 on pads).</summary>
    public Span<int> AttentionMask => Layout.AttentionMask(_lease.Span);

    /// <summary>position_ids [L], restarting at 0 for each sample.</summary>
    public Span<int> PositionIds => Layout.PositionIds(_lease.Span);

    /// <summary>cu_seqlens [samples + 1]: 0, end₀, end₁, ….</summary>
    public Span<int> CuSeqlens => Layout.CuSeqlens(_lease.Span, SampleCount);

    /// <summary>Tiles [TileCount, 3, S, S] float32, the images' tiles in pack order; <see cref="TileFormat.Float32"/> only.</summary>
    /// <exception cref="InvalidOperationException">The slab carries <see cref="TileFormat.UInt8"/> tiles.</exception>
    public Span<float> Tiles => Layout.Tiles(_lease.Span, TileCount);

    /// <summary>The global tiles [GlobalTileCount, 3, S, S] float32 in pack order; <see cref="TileFormat.UInt8"/> only.</summary>
    /// <exception cref="InvalidOperationException">The slab carries <see cref="TileFormat.Float32"/> tiles.</exception>
    public Span<float> GlobalTiles => Layout.GlobalTiles(_lease.Span, GlobalTileCount);

    /// <summary>The grid tiles [TileCount − GlobalTileCount, 3, S, S] uint8 (the resized RGB bytes) in pack order;
    /// <see cref="TileFormat.UInt8"/> only.</summary>
    /// <exception cref="InvalidOperationException">The slab carries <see cref="TileFormat.Float32"/> tiles.</exception>
    public Span<byte> TileBytes => Layout.TileBytes(_lease.Span, TileCount - GlobalTileCount);

    /// <summary>
    /// Writes the model's float32 tiles [TileCount, 3, S, S] in pack order (global tile first per image where it has
    /// one) into <paramref name="destination"/>, whatever the format: a copy for <see cref="TileFormat.Float32"/>, the
    /// global tiles and <c>byte / 255f</c> of the grid tiles for <see cref="TileFormat.UInt8"/> (nanoVLM's
    /// <c>ToTensor</c> values exactly).
    /// </summary>
    /// <param name="destination">At least TileCount · 3 · S · S floats.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void CopyTilesTo(Span<float> destination)
    {
        int tile = Layout.TileFloats;
        if (destination.Length < (long)TileCount * tile)
            throw new ArgumentException($"Destination has {destination.Length} floats, [{TileCount},3,{Layout.TileSide},{Layout.TileSide}] needs {(long)TileCount * tile}", nameof(destination));
        if (Layout.Format == TileFormat.Float32)
        {
            Tiles.CopyTo(destination);
            return;
        }
        ReadOnlySpan<float> globals = GlobalTiles;
        ReadOnlySpan<byte> bytes = TileBytes;
        int at = 0, global = 0, grid = 0;
        foreach (var g in _grids.Span)
        {
            if (g.HasGlobalTile)
            {
                globals.Slice(global++ * tile, tile).CopyTo(destination.Slice(at++ * tile, tile));
            }
            for (int t = 0; t < g.TileCount; t++, at++, grid++)
            {
                var src = bytes.Slice(grid * tile, tile);
                var dst = destination.Slice(at * tile, tile);
                for (int i = 0; i < tile; i++) dst[i] = TileWriter.ToFloat(src[i]);
            }
        }
    }
}
