namespace NanoVlm.Kernels;

/// <summary>Parameters of nanoVLM's image path (docs/nanovlm-compat.md, "Image path"); defaults are nanoVLM's.</summary>
public sealed record ImagePipelineOptions
{
    /// <summary>Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485 = 1024·1024·1024 / 4 / 3). Pillow only <em>warns</em>
    /// (<c>DecompressionBombWarning</c>) above this; it refuses above <see cref="DefaultMaxPixels"/>.</summary>
    public const long PillowMaxImagePixels = 89_478_485;

    /// <summary>
    /// The one default pixel limit of the whole image path (decoder and kernels): 2 × <see cref="PillowMaxImagePixels"/>
    /// = 178,956,970. Pillow's <c>_decompression_bomb_check</c> raises <c>DecompressionBombError</c> only when
    /// width·height &gt; 2·MAX_IMAGE_PIXELS, so an image is accepted exactly when Pillow (and nanoVLM) accept it.
    /// </summary>
    public const long DefaultMaxPixels = 2 * PillowMaxImagePixels;

    /// <summary>nanoVLM defaults: split 512, max side 2048, resize to max side, pixel limit <see cref="DefaultMaxPixels"/>.</summary>
    public static ImagePipelineOptions Default { get; } = new();

    /// <summary>Tile side (<c>vit_img_size</c>, "splitted image size"); also the global tile side.</summary>
    public int SplitSize { get; init; } = 512;

    /// <summary>Longest side after resize (<c>max_img_size</c>).</summary>
    public int MaxSideLength { get; init; } = 2048;

    /// <summary><c>resize_to_max_side_len</c>: the long side always becomes <see cref="MaxSideLength"/>.</summary>
    public bool ResizeToMaxSide { get; init; } = true;

    /// <summary>Largest accepted source pixel count (width × height); default <see cref="DefaultMaxPixels"/>, where
    /// Pillow raises <c>DecompressionBombError</c>.</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>Float accumulation order of the global tile (see <see cref="GlobalTileAccumulation"/>).</summary>
    public GlobalTileAccumulation GlobalAccumulation { get; init; } = GlobalTileAccumulation.TorchAvx2;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a field is unusable.</summary>
    public void Validate()
    {
        if (SplitSize <= 0 || SplitSize > 16384)
            throw new ArgumentOutOfRangeException(nameof(SplitSize), SplitSize, "SplitSize must be in 1..16384.");
        if (MaxSideLength <= 0 || MaxSideLength > 65536)
            throw new ArgumentOutOfRangeException(nameof(MaxSideLength), MaxSideLength, "MaxSideLength must be in 1..65536.");
        if (MaxPixels <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "MaxPixels must be positive.");
    }
}
