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

/// <summary>
/// How the global tile sums <c>t_j · w_j</c> over the filter taps (all variants use torch's float32 weights and
/// start with <c>t_0 · w_0</c>). torch's C++ is a plain sequential loop, but the compiled code decides rounding.
/// </summary>
public enum GlobalTileAccumulation
{
    /// <summary>Bit-exact with the reference torch 1.13 CPU build (GCC 12, AVX2 kernels): taps 1..4m are
    /// multiplied and rounded, then added in order (a vectorised in-order reduction); the remaining taps use fused
    /// multiply-add (contracted scalar epilogue). Measured against torch on many sizes, see the tests.</summary>
    TorchAvx2 = 0,

    /// <summary>The C++ source order without any fusion: <c>acc = acc + round(t_j · w_j)</c>. Within 1.2e-7 of
    /// torch builds that fuse (max abs diff); portable across compilers.</summary>
    Sequential = 1,
}

/// <summary>Why an image size was rejected.</summary>
public enum ImageSizeError
{
    /// <summary>Width or height is zero or negative.</summary>
    NonPositive,
    /// <summary>width × height exceeds <see cref="ImagePipelineOptions.MaxPixels"/>.</summary>
    TooManyPixels,
    /// <summary>A derived size (resized image, tile output) does not fit the index range of a span.</summary>
    Overflow,
}

/// <summary>An image size that the image path refuses; nothing was written when this is thrown.</summary>
public sealed class ImageSizeException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public ImageSizeException(ImageSizeError reason, long width, long height, string message)
        : base($"{message} (image {width}x{height}, reason {reason})")
    {
        Reason = reason;
        Width = width;
        Height = height;
    }

    /// <summary>The reason.</summary>
    public ImageSizeError Reason { get; }

    /// <summary>The offending width.</summary>
    public long Width { get; }

    /// <summary>The offending height.</summary>
    public long Height { get; }
}

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

/// <summary>Everything the image path needs to know about one image before touching pixels.</summary>
/// <param name="SourceWidth">Decoded width.</param>
/// <param name="SourceHeight">Decoded height.</param>
/// <param name="TargetWidth">Width after DynamicResize (a multiple of <paramref name="SplitSize"/>).</param>
/// <param name="TargetHeight">Height after DynamicResize.</param>
/// <param name="SplitSize">Tile side.</param>
public sealed record ImageGeometry(int SourceWidth, int SourceHeight, int TargetWidth, int TargetHeight, int SplitSize)
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
