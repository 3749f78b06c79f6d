namespace NanoVlm.Kernels;

/// <summary>
/// Everything the image path needs to know about one image before touching pixels. A value type: the loader computes
/// one per image (planning, then again in the worker that decodes it), so a class instance per image was steady-state
/// garbage. <c>default</c> is not a geometry (SplitSize 0: <see cref="Grid"/> divides by zero); no planner returns it.
/// </summary>
/// <param name="SourceWidth">Decoded width.</param>
/// <param name="SourceHeight">Decoded height.</param>
/// <param name="TargetWidth">Width after DynamicResize (a multiple of <paramref name="SplitSize"/>).</param>
/// <param name="TargetHeight">Height after DynamicResize.</param>
/// <param name="SplitSize">Tile side.</param>
public readonly record struct ImageGeometry(int SourceWidth, int SourceHeight, int TargetWidth, int TargetHeight, int SplitSize)
{
    /// <summary>Tile grid (TargetHeight / SplitSize, TargetWidth / SplitSize).</summary>
    public TileGrid Grid => new(TargetHeight / SplitSize, TargetWidth / SplitSize);

    /// <summary>Bytes of the resized RGB8 image.</summary>
    public long ResizedByteCount => 3L * TargetWidth * TargetHeight;

    /// <summary>Floats of one tile (3 × S × S).</summary>
    public long TileFloatCount => 3L * SplitSize * SplitSize;

    /// <summary>Floats of the whole output [OutputTileCount, 3, S, S].</summary>
    public long OutputFloatCount => Grid.OutputTileCount * TileFloatCount;

    /// <summary>Token count (65 for 1×1, else 65·(1 + n_h·n_w)).</summary>
    public int TokenCount => Grid.TokenCount;
}
