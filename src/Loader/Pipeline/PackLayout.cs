using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// Where each array of one packed sequence lies in its pinned slab (byte offsets from the slab's start) — the one
/// description of the slab that the loader writes through and that readers (<see cref="PackedSequence"/>, the
/// Engine's tensor views) read through. All token arrays are int32 of <see cref="SequenceLength"/> entries;
/// <c>cu_seqlens</c> has room for SequenceLength + 1 entries. The tiles start at the 64-byte aligned
/// <see cref="TilesOffset"/>: with <see cref="TileFormat.Float32"/> all tiles as float32 [tiles, 3, S, S] in pack order;
/// with <see cref="TileFormat.UInt8"/> the global tiles as float32 [globals, 3, S, S] there and the grid tiles as uint8
/// [grid tiles, 3, S, S] at <see cref="TileBytesOffset"/>, each in pack order.
/// </summary>
/// <param name="SequenceLength">L, tokens per packed sequence.</param>
/// <param name="TileSide">S, the tile side.</param>
/// <param name="MaxTiles">Tiles a slab has room for.</param>
/// <param name="Format">How the tiles are stored.</param>
public sealed record PackLayout(int SequenceLength, int TileSide, int MaxTiles, TileFormat Format)
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

    /// <summary>Offset of the float32 tiles, 64-byte aligned: all tiles (<see cref="TileFormat.Float32"/>) or the
    /// global tiles (<see cref="TileFormat.UInt8"/>).</summary>
    public int TilesOffset => (CuSeqlensOffset + 4 * (SequenceLength + 1) + 63) & ~63;

    /// <summary>Elements per tile (3 × S × S).</summary>
    public int TileFloats => 3 * TileSide * TileSide;

    /// <summary>Global tiles a <see cref="TileFormat.UInt8"/> slab has room for: every global tile comes with at least
    /// two grid tiles, so at most a third of the tiles are global (0 for <see cref="TileFormat.Float32"/>, where the
    /// global tiles are among the float tiles).</summary>
    public int MaxGlobalTiles => Format == TileFormat.UInt8 ? MaxTiles / 3 : 0;

    /// <summary>Offset of the uint8 grid tiles (<see cref="TileFormat.UInt8"/>), 64-byte aligned; for
    /// <see cref="TileFormat.Float32"/> the end of the tiles.</summary>
    public int TileBytesOffset => Format == TileFormat.UInt8
        ? checked((TilesOffset + 4 * MaxGlobalTiles * TileFloats + 63) & ~63)
        : checked(TilesOffset + 4 * MaxTiles * TileFloats);

    /// <summary>Bytes one slab needs.</summary>
    public int SlabBytes => Format == TileFormat.UInt8 ? checked(TileBytesOffset + MaxTiles * TileFloats) : TileBytesOffset;

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

    /// <summary>The first <paramref name="tiles"/> tiles ([tiles, 3, S, S] float32) in <paramref name="slab"/>;
    /// <see cref="TileFormat.Float32"/> only.</summary>
    /// <exception cref="InvalidOperationException">The layout is <see cref="TileFormat.UInt8"/>.</exception>
    public Span<float> Tiles(Span<byte> slab, int tiles)
    {
        if (Format != TileFormat.Float32)
            throw new InvalidOperationException($"The slab carries {Format} tiles: read the global tiles and the tile bytes, or expand them with PackedSequence.CopyTilesTo.");
        return MemoryMarshal.Cast<byte, float>(slab.Slice(TilesOffset, 4 * tiles * TileFloats));
    }

    /// <summary>The first <paramref name="globals"/> global tiles ([globals, 3, S, S] float32) in <paramref name="slab"/>;
    /// <see cref="TileFormat.UInt8"/> only.</summary>
    /// <exception cref="InvalidOperationException">The layout is not <see cref="TileFormat.UInt8"/>.</exception>
    public Span<float> GlobalTiles(Span<byte> slab, int globals)
    {
        RequireUInt8();
        return MemoryMarshal.Cast<byte, float>(slab.Slice(TilesOffset, 4 * globals * TileFloats));
    }

    /// <summary>The first <paramref name="tiles"/> grid tiles ([tiles, 3, S, S] uint8, the resized RGB bytes) in
    /// <paramref name="slab"/>; <see cref="TileFormat.UInt8"/> only.</summary>
    /// <exception cref="InvalidOperationException">The layout is not <see cref="TileFormat.UInt8"/>.</exception>
    public Span<byte> TileBytes(Span<byte> slab, int tiles)
    {
        RequireUInt8();
        return slab.Slice(TileBytesOffset, tiles * TileFloats);
    }

    private void RequireUInt8()
    {
        if (Format != TileFormat.UInt8)
            throw new InvalidOperationException($"The slab carries {Format} tiles: read them with Tiles.");
    }

    private static Span<int> Ints(Span<byte> slab, int offset, int count) => MemoryMarshal.Cast<byte, int>(slab.Slice(offset, 4 * count));

    /// <summary>The layout for sequence length <paramref name="sequenceLength"/>: every output tile costs
    /// <paramref name="imageTokenLength"/> + 1 tokens, so a pack holds at most L / (that) tiles.</summary>
    /// <param name="sequenceLength">L, tokens per packed sequence.</param>
    /// <param name="imageTokenLength">Image tokens per tile.</param>
    /// <param name="tileSide">S, the tile side.</param>
    /// <param name="format">How the tiles are stored.</param>
    /// <returns>The layout.</returns>
    public static PackLayout For(int sequenceLength, int imageTokenLength, int tileSide, TileFormat format)
        => new(sequenceLength, tileSide, sequenceLength / (imageTokenLength + 1), format);
}
