using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Text;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// Options of a <see cref="DataLoader"/>. Names and defaults follow nanoVLM's <c>VLMConfig</c>/<c>TrainConfig</c>
/// (docs/nanovlm-compat.md, "Configuration"); the rest are this loader's knobs.
/// </summary>
public sealed record DataLoaderOptions
{
    /// <summary>Samples with this many tokens or more (before the pad) are dropped (nanoVLM <c>max_sample_length</c>, 4096).</summary>
    public int MaxSampleLength { get; init; } = 4096;

    /// <summary>Samples with more images are dropped (nanoVLM <c>max_images_per_example</c>, 4).</summary>
    public int MaxImagesPerExample { get; init; } = 4;

    /// <summary>Images per packed sequence (nanoVLM <c>max_images_per_knapsack</c>, 18).</summary>
    public int MaxImagesPerKnapsack { get; init; } = 18;

    /// <summary>Tokens per packed sequence (nanoVLM <c>lm_max_length</c>, 4096).</summary>
    public int LmMaxLength { get; init; } = 4096;

    /// <summary>The four per-turn minimum ratings (nanoVLM <c>*_min_rating</c>, all 1).</summary>
    public QualityFilterOptions QualityFilter { get; init; } = new();

    /// <summary><c>&lt;|image|&gt;</c> tokens per tile (nanoVLM <c>mp_image_token_length</c>, 64).</summary>
    public int ImageTokenLength { get; init; } = ImageTokenString.DefaultImageTokenLength;

    /// <summary>Tile side and resize limits (nanoVLM <c>vit_img_size</c> 512, <c>max_img_size</c> 2048).</summary>
    public ImagePipelineOptions Images { get; init; } = ImagePipelineOptions.Default;

    /// <summary>How the slabs carry the tiles: uint8 grid tiles with float32 global tiles (default; the Engine divides
    /// by 255 on the device) or every tile as nanoVLM's float32.</summary>
    public TileFormat TileFormat { get; init; } = TileFormat.UInt8;

    /// <summary>Packed sequences per <see cref="Batch"/> (nanoVLM <c>batch_size</c>, 2).</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Materialize workers (decode + tiles + assembly), each on its own thread.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Seed of the shard shuffle, the mixture choice and the pack-order shuffle.</summary>
    public int Seed { get; init; }

    /// <summary>Planner window in tokens; 0 means <see cref="LmMaxLength"/> × 8 (nanoVLM's 4096 × 8).</summary>
    public int WindowTokens { get; init; }

    /// <summary>Packing algorithm: best-fit decreasing (default) or nanoVLM's knapsack (<see cref="PlannerKind.NanovlmCompat"/>,
    /// which also emits every pack as nanoVLM does).</summary>
    public PlannerKind Planner { get; init; } = PlannerKind.BestFit;

    /// <summary>This process's rank in distributed training (0-based).</summary>
    public int Rank { get; init; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Passes over the data; null runs forever.</summary>
    public int? Epochs { get; init; } = 1;

    /// <summary>Shuffle the shard order of every epoch with <see cref="Seed"/> (and the epoch).</summary>
    public bool ShuffleShards { get; init; } = true;

    /// <summary>A corrupt or undecodable image fails the run (true) instead of dropping its sample (false, default).</summary>
    public bool StrictImages { get; init; }

    /// <summary>Pinned slabs (one per packed sequence); 0 means enough for every worker to build a batch while every
    /// output slot is full and the consumer holds two batches: <see cref="BatchSize"/> × (<see cref="Workers"/> ×
    /// (1 + ⌈<see cref="OutputCapacity"/> / <see cref="Workers"/>⌉) + 2). A smaller pool (or a consumer holding more
    /// batches) can stall the loader.</summary>
    public int SlabPoolSize { get; init; }

    /// <summary>Batches waiting for the consumer (bounded channel).</summary>
    public int OutputCapacity { get; init; } = 2;

    /// <summary>Rows read ahead of the shape stage (bounded channel).</summary>
    public int ReadAheadRows { get; init; } = 256;

    /// <summary>The effective window in tokens.</summary>
    public int EffectiveWindowTokens => WindowTokens > 0 ? WindowTokens : checked(LmMaxLength * 8);

    /// <summary>The effective slab count.</summary>
    public int EffectiveSlabPoolSize => SlabPoolSize > 0 ? SlabPoolSize
        : BatchSize * (Workers * (1 + (OutputCapacity + Workers - 1) / Workers) + 2);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSampleLength, 1, nameof(MaxSampleLength));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxImagesPerExample, nameof(MaxImagesPerExample));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxImagesPerKnapsack, nameof(MaxImagesPerKnapsack));
        ArgumentOutOfRangeException.ThrowIfLessThan(LmMaxLength, 2, nameof(LmMaxLength));
        ArgumentOutOfRangeException.ThrowIfNegative(ImageTokenLength, nameof(ImageTokenLength));
        ArgumentNullException.ThrowIfNull(QualityFilter);
        ArgumentNullException.ThrowIfNull(Images);
        Images.Validate();
        if (!Enum.IsDefined(TileFormat)) throw new ArgumentOutOfRangeException(nameof(TileFormat), TileFormat, "Must be UInt8 or Float32.");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1, nameof(Workers));
        ArgumentOutOfRangeException.ThrowIfNegative(WindowTokens, nameof(WindowTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(WorldSize, 1, nameof(WorldSize));
        if (Rank < 0 || Rank >= WorldSize) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"Must be within [0, {WorldSize}).");
        if (Epochs is < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Must be ≥ 1 or null (infinite).");
        ArgumentOutOfRangeException.ThrowIfNegative(SlabPoolSize, nameof(SlabPoolSize));
        if (SlabPoolSize > 0) ArgumentOutOfRangeException.ThrowIfLessThan(SlabPoolSize, BatchSize, nameof(SlabPoolSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputCapacity, 1, nameof(OutputCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadAheadRows, 1, nameof(ReadAheadRows));
    }
}
