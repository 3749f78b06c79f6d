namespace NanoVlm.Packing;

/// <summary>Limits and knobs shared by every planner. Defaults are nanoVLM's (docs/nanovlm-compat.md, "Configuration").</summary>
public sealed record PackingOptions
{
    /// <summary>Tokens per packed sequence, nanoVLM's <c>lm_max_length</c> (4096).</summary>
    public int SequenceLength { get; init; } = 4096;

    /// <summary>Images per packed sequence, nanoVLM's <c>max_images_per_knapsack</c> (18).</summary>
    public int MaxImagesPerPack { get; init; } = 18;

    /// <summary>
    /// Extra empty bins the compat planner opens on top of <c>ceil(total / SequenceLength)</c> (nanoVLM: 5).
    /// Ignored by the best-fit planner, which opens bins only when nothing fits.
    /// </summary>
    public int Delta { get; init; } = 5;

    /// <summary>Shuffle the order of the packs of every plan (nanoVLM does); members keep their order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>
    /// Seed of the pack shuffle. The shuffle is Python's <c>random.shuffle</c> on a Mersenne Twister seeded like
    /// <c>random.seed(Seed)</c>, so a fresh compat planner reproduces nanoVLM after <c>random.seed(Seed)</c>.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a limit is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(SequenceLength, 1, nameof(SequenceLength));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxImagesPerPack, nameof(MaxImagesPerPack));
        ArgumentOutOfRangeException.ThrowIfNegative(Delta, nameof(Delta));
    }
}
