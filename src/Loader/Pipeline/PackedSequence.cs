using System.Runtime.InteropServices;
using NanoVlm.Kernels;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// One packed sequence of a <see cref="Batch"/>: views over its pinned slab (valid until the batch is disposed) and
/// what it holds. The Engine can alias the arrays without a copy from <see cref="Address"/> + the
/// <see cref="Layout"/> offsets (or the pinned <see cref="Backing"/> array).
/// </summary>
public sealed class PackedSequence
{
    private readonly SlabLease _lease;

    internal PackedSequence(SlabLease lease, PackLayout layout, int tokens, SampleOrigin[] origins, int[] sampleImages,
        TileGrid[] grids, int tiles)
    {
        _lease = lease;
        Layout = layout;
        Tokens = tokens;
        Origins = origins;
        SampleImages = sampleImages;
        ImageGrids = grids;
        TileCount = tiles;
    }

    /// <summary>Offsets of the arrays in the slab.</summary>
    public PackLayout Layout { get; }

    /// <summary>Real tokens (samples and their pads); the rest of the sequence is tail padding.</summary>
    public int Tokens { get; }

    /// <summary>Samples in the pack, in order.</summary>
    public int SampleCount => Origins.Count;

    /// <summary>Source and row of every sample, in pack order.</summary>
    public IReadOnlyList<SampleOrigin> Origins { get; }

    /// <summary>Images of every sample, in pack order.</summary>
    public IReadOnlyList<int> SampleImages { get; }

    /// <summary>Tile grid of every image, in pack order (1×1 → one tile, else 1 global + n_h·n_w).</summary>
    public IReadOnlyList<TileGrid> ImageGrids { get; }

    /// <summary>Tiles written (global tiles included).</summary>
    public int TileCount { get; }

    /// <summary>Address of the slab's first byte (pinned while the batch is alive).</summary>
    public nint Address => _lease.Address;

    /// <summary>The pinned array backing the slab and the slab's offset in it.</summary>
    public (byte[] Array, int Offset) Backing => _lease.Backing;

    /// <summary>Bytes of this pack that carry data (token arrays and the written tiles).</summary>
    public long Bytes => Layout.TilesOffset + 4L * TileCount * Layout.TileFloats;

    internal void Release() => _lease.Dispose();

    private Span<int> Ints(int offset, int count) => MemoryMarshal.Cast<byte, int>(_lease.Span.Slice(offset, 4 * count));

    /// <summary>input_ids [L].</summary>
    public Span<int> InputIds => Ints(Layout.InputIdsOffset, Layout.SequenceLength);

    /// <summary>labels [L] (−100 where no loss).</summary>
    public Span<int> Labels => Ints(Layout.LabelsOffset, Layout.SequenceLength);

    /// <summary>attention_mask [L] (1 on sample tokens, 0 on pads).</summary>
    public Span<int> AttentionMask => Ints(Layout.AttentionMaskOffset, Layout.SequenceLength);

    /// <summary>position_ids [L], restarting at 0 for each sample.</summary>
    public Span<int> PositionIds => Ints(Layout.PositionIdsOffset, Layout.SequenceLength);

    /// <summary>cu_seqlens [samples + 1]: 0, end₀, end₁, ….</summary>
    public Span<int> CuSeqlens => Ints(Layout.CuSeqlensOffset, SampleCount + 1);

    /// <summary>Tiles [TileCount, 3, S, S] float32, the images' tiles in pack order.</summary>
    public Span<float> Tiles => MemoryMarshal.Cast<byte, float>(
        _lease.Span.Slice(Layout.TilesOffset, 4 * TileCount * Layout.TileFloats));
}
