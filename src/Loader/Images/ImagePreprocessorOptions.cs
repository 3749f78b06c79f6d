using NanoVlm.Kernels;

namespace NanoVlm.Loader.Images;

/// <summary>
/// The single options record of <see cref="ImagePreprocessor"/>: nanoVLM's image-path parameters (docs/nanovlm-compat.md, "Image path")
/// plus the one pixel limit that both the decoder and the kernels enforce. Defaults are nanoVLM's.
/// </summary>
public sealed record ImagePreprocessorOptions
{
    /// <summary>nanoVLM defaults: split 512, max side 2048, resize to max side, pixel limit
    /// <see cref="ImagePipelineOptions.DefaultMaxPixels"/>.</summary>
    public static ImagePreprocessorOptions Default { get; } = new();

    /// <summary>Tile side (<c>vit_img_size</c>); also the global tile side. 1..16384.</summary>
    public int SplitSize { get; init; } = 512;

    /// <summary>Longest side after resize (<c>max_img_size</c>). 1..65536.</summary>
    public int MaxSideLength { get; init; } = 2048;

    /// <summary><c>resize_to_max_side_len</c>: the long side always becomes <see cref="MaxSideLength"/>.</summary>
    public bool ResizeToMaxSide { get; init; } = true;

    /// <summary>
    /// Largest accepted source width·height, checked from the header before any pixel is decoded. This one value
    /// configures both <see cref="ImageDecoderOptions.MaxPixels"/> and <see cref="ImagePipelineOptions.MaxPixels"/>.
    /// Default <see cref="ImagePipelineOptions.DefaultMaxPixels"/> (2 × 89,478,485): accepted exactly when Pillow
    /// accepts the image (it raises <c>DecompressionBombError</c> only above that).
    /// </summary>
    public long MaxPixels { get; init; } = ImagePipelineOptions.DefaultMaxPixels;

    /// <summary>Float accumulation order of the global tile; the default is bit-exact with the reference torch build.</summary>
    public GlobalTileAccumulation GlobalAccumulation { get; init; } = GlobalTileAccumulation.TorchAvx2;

    /// <summary>
    /// Scratch buffers (decoded RGB8, resized RGB8) up to this many bytes each are kept by the preprocessor and reused,
    /// so the steady state allocates no pixel buffers; a larger image uses a temporary buffer that is dropped after
    /// the call (so one huge image does not pin hundreds of MB per worker). Default 64 MiB (a 4032×3024 photo decodes
    /// to 36.6 MB, a 2048×2048 resize is 12.6 MB). Non-negative.
    /// </summary>
    public long RetainedScratchBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The kernel options with the same parameters and pixel limit.</summary>
    public ImagePipelineOptions ToPipelineOptions() => new()
    {
        SplitSize = SplitSize,
        MaxSideLength = MaxSideLength,
        ResizeToMaxSide = ResizeToMaxSide,
        MaxPixels = MaxPixels,
        GlobalAccumulation = GlobalAccumulation,
    };

    /// <summary>The decoder options with the same pixel limit.</summary>
    public ImageDecoderOptions ToDecoderOptions() => new() { MaxPixels = MaxPixels };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a field is unusable.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A field is out of range.</exception>
    public void Validate()
    {
        ToPipelineOptions().Validate();
        if (RetainedScratchBytes < 0)
            throw new ArgumentOutOfRangeException(nameof(RetainedScratchBytes), RetainedScratchBytes, "RetainedScratchBytes must not be negative.");
    }
}
