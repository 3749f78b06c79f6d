namespace NanoVlm.Loader.Text;

/// <summary>The tile grid (n_h, n_w) of one image after DynamicResize, e.g. from the image header's width/height.</summary>
/// <param name="Rows">Tiles down (n_h), 1..8.</param>
/// <param name="Cols">Tiles across (n_w), 1..8.</param>
public readonly record struct ImageGrid(int Rows, int Cols)
{
    /// <summary>Tiles in the grid (without the global tile).</summary>
    public int Tiles => Rows * Cols;
}
