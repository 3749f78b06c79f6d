using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// Where each array of one packed sequence lies in its pinned slab (byte offsets from the slab's start) — the one
/// description of the slab that the loader writes through and that readers (<see cref="PackedSequence"/>, the
/// Engine's tensor views) read through. All token arrays are int32 of <see cref="SequenceLength"/> entries;
/// <c>cu_seqlens</c> has room for SequenceLength + 1 entries; tiles are float32 [tiles, 3, S, S] starting at a 64-byte
/// aligned offset.
/// </summary>
/// <param name="SequenceLength">L, tokens per packed sequence.</param>
/// <param name="TileSide">S, the tile side.</param>
/// <param name="MaxTiles">Tiles a slab has room for.</param>
public sealed record PackLayout(int SequenceLength, int TileSide, int MaxTiles)
{
    /// <summary>Offset of <c>input_ids</c> (int32[L]).</summary>
    public int InputIdsOffset => 0;

    /// <summary>Offset of <c>labels</c> (int32[L]).</summary>
    public int LabelsOffset => 4 * SequenceLength;

    /// <summary>Offset of <c>attention_mask</c> (int32[L]).</summary>
    public int AttentionMaskOffset => 8 * SequenceLength;

    /// <summary>Offset of <c>position_ids</c> (int32[L]).</summary>
    public int PositionIdsOffset => 12 * SequenceLength;

    /// <summary>Offset of <c>cu_seqlens</c> (int32[samples + 1]).</summary>
    public int CuSeqlensOffset => 16 * SequenceLength;

    /// <summary>Offset of the tiles (float32), 64-byte aligned.</summary>
    public int TilesOffset => (CuSeqlensOffset + 4 * (SequenceLength + 1) + 63) & ~63;

    /// <summary>Floats per tile (3 × S × S).</summary>
    public int TileFloats => 3 * TileSide * TileSide;

    /// <summary>Bytes one slab needs.</summary>
    public int SlabBytes => checked(TilesOffset + 4 * MaxTiles * TileFloats);

    /// <summary>The shape of <paramref name="tiles"/> tiles: [tiles, 3, S, S].</summary>
    public long[] TileShape(int tiles) => [tiles, 3, TileSide, TileSide];

    /// <summary><c>input_ids</c> [L] in <paramref name="slab"/>.</summary>
    public Span<int> InputIds(Span<byte> slab) => Ints(slab, InputIdsOffset, SequenceLength);

    /// <summary><c>labels</c> [L] in <paramref name="slab"/>.</summary>
    public Span<int> Labels(Span<byte> slab) => Ints(slab, LabelsOffset, SequenceLength);

    /// <summary><c>attention_mask</c> [L] in <paramref name="slab"/>.</summary>
    public Span<int> AttentionMask(Span<byte> slab) => Ints(slab, AttentionMaskOffset, SequenceLength);

    /// <summary><c>position_ids</c> [L] in <paramref name="slab"/>.</summary>
    public Span<int> PositionIds(Span<byte> slab) => Ints(slab, PositionIdsOffset, SequenceLength);

    /// <summary><c>cu_seqlens</c> of <paramref name="samples"/> samples ([samples + 1], at most L + 1) in <paramref name="slab"/>.</summary>
    public Span<int> CuSeqlens(Span<byte> slab, int samples) => Ints(slab, CuSeqlensOffset, samples + 1);

    /// <summary>The first <paramref name="tiles"/> tiles ([tiles, 3, S, S] float32) in <paramref name="slab"/>.</summary>
    public Span<float> Tiles(Span<byte> slab, int tiles)
        => MemoryMarshal.Cast<byte, float>(slab.Slice(TilesOffset, 4 * tiles * TileFloats));

    private static Span<int> Ints(Span<byte> slab, int offset, int count) => MemoryMarshal.Cast<byte, int>(slab.Slice(offset, 4 * count));

    /// <summary>The layout for sequence length <paramref name="sequenceLength"/>: every output tile costs
    /// <paramref name="imageTokenLength"/> + 1 tokens, so a pack holds at most L / (that) tiles.</summary>
    public static PackLayout For(int sequenceLength, int imageTokenLength, int tileSide)
        => new(sequenceLength, tileSide, sequenceLength / (imageTokenLength + 1));
}
