using System.Text;

namespace NanoVlm.Loader.Text;

/// <summary>nanoVLM's <c>get_image_string</c>: the placeholder text for a sample's images.</summary>
public static class ImageTokenString
{
    /// <summary><c>&lt;|image|&gt;</c>.</summary>
    public const string ImageToken = "<|image|>";

    /// <summary><c>&lt;|global_image|&gt;</c>.</summary>
    public const string GlobalImageToken = "<|global_image|>";

    /// <summary>nanoVLM's default <c>mp_image_token_length</c>.</summary>
    public const int DefaultImageTokenLength = 64;

    private static readonly string[] s_rowCol = Enumerable.Range(0, 64).Select(k => $"<row_{k / 8 + 1}_col_{k % 8 + 1}>").ToArray();

    /// <summary><c>&lt;row_{row}_col_{col}&gt;</c>, 1-based.</summary>
    public static string RowColToken(int row, int col)
    {
        if (row is < 1 or > 8 || col is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(row), $"row/col must be in 1..8, got ({row}, {col}).");
        return s_rowCol[(row - 1) * 8 + (col - 1)];
    }

    /// <summary>Builds the image string: per image (with <c>&lt;image: k&gt;</c> first when there are ≥ 2 images),
    /// <c>&lt;|global_image|&gt;</c> + N×<c>&lt;|image|&gt;</c>, then for grids other than 1×1 each tile's
    /// <c>&lt;row_r_col_c&gt;</c> + N×<c>&lt;|image|&gt;</c> in row-major order.</summary>
    public static string Build(ReadOnlySpan<ImageGrid> grids, int imageTokenLength = DefaultImageTokenLength)
    {
        var sb = new StringBuilder();
        for (int k = 0; k < grids.Length; k++)
        {
            var g = Validate(grids[k]);
            if (grids.Length > 1) sb.Append("<image: ").Append(k).Append('>');
            sb.Append(GlobalImageToken);
            for (int t = 0; t < imageTokenLength; t++) sb.Append(ImageToken);
            if (g.Rows == 1 && g.Cols == 1) continue;
            for (int i = 0; i < g.Rows; i++)
                for (int j = 0; j < g.Cols; j++)
                {
                    sb.Append(RowColToken(i + 1, j + 1));
                    for (int t = 0; t < imageTokenLength; t++) sb.Append(ImageToken);
                }
        }
        return sb.ToString();
    }

    /// <summary>Tokens of one image's string, not counting the <c>&lt;image: k&gt;</c> text:
    /// (N+1) for a 1×1 grid, else (N+1)·(1 + n_h·n_w).</summary>
    public static int SpecialTokenCount(ImageGrid grid, int imageTokenLength = DefaultImageTokenLength)
    {
        Validate(grid);
        return grid.Rows == 1 && grid.Cols == 1 ? imageTokenLength + 1 : (imageTokenLength + 1) * (1 + grid.Tiles);
    }

    internal static ImageGrid Validate(ImageGrid g)
    {
        if (g.Rows is < 1 or > 8 || g.Cols is < 1 or > 8)
            throw new ArgumentOutOfRangeException(nameof(g), $"Image grid {g.Rows}x{g.Cols} is outside 1..8 x 1..8 (nanoVLM has row/col tokens up to 8).");
        return g;
    }
}
