namespace NanoVlm.Kernels;

/// <summary>Tile grid (rows = n_h, columns = n_w) of a resized image.</summary>
public readonly record struct TileGrid(int Rows, int Cols)
{
    /// <summary>n_h · n_w.</summary>
    public int TileCount => Rows * Cols;

    /// <summary>True unless the grid is 1×1; then a global tile is prepended.</summary>
    public bool HasGlobalTile => Rows != 1 || Cols != 1;

    /// <summary>Tiles in the output tensor: 1 for a 1×1 grid, else 1 + n_h·n_w.</summary>
    public int OutputTileCount => HasGlobalTile ? 1 + TileCount : 1;

    /// <summary>SPEC token count of one image (without the <c>&lt;image: k&gt;</c> prefix): 65 × <see cref="OutputTileCount"/>.</summary>
    public int TokenCount => 65 * OutputTileCount;
}
