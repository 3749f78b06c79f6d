namespace NanoVlm.Packing;

/// <summary>Options of a <see cref="StreamingPacker"/>.</summary>
public sealed record StreamingPackerOptions
{
    /// <summary>Sequence length, image cap, delta and shuffle of every window's plan.</summary>
    public PackingOptions Packing { get; init; } = new();

    /// <summary>The algorithm that plans each window; best fit by default.</summary>
    public PlannerKind Planner { get; init; } = PlannerKind.BestFit;

    /// <summary>
    /// Plan once the buffer holds at least this many tokens. nanoVLM: <c>seq_length × num_of_sequences</c>
    /// = 4096 × 8 = 32,768.
    /// </summary>
    public int WindowTokens { get; init; } = 4096 * 8;

    /// <summary>
    /// Packs filled below this fraction of the sequence length are not emitted; their samples return to the buffer
    /// and are planned again with the next window, so emitted sequences are nearly full. 0 emits every pack, as
    /// nanoVLM does. <see cref="StreamingPacker.Flush"/> always emits everything.
    /// </summary>
    public double MinEmitFill { get; init; } = 0.99;

    /// <summary>
    /// At most this fraction of <see cref="WindowTokens"/> may be carried to the next window; when the underfilled
    /// packs hold more, the fullest of them are emitted anyway. Keeps memory bounded by about 1.5 windows and
    /// guarantees progress on inputs that can never fill a sequence.
    /// </summary>
    public double MaxCarryFraction { get; init; } = 1.0;

    /// <summary>nanoVLM's <c>ConstantLengthDataset</c>: compat knapsack per 32,768-token window, every pack emitted.</summary>
    public static StreamingPackerOptions Nanovlm { get; } = new() { Planner = PlannerKind.NanovlmCompat, MinEmitFill = 0 };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Packing);
        Packing.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(WindowTokens, 1, nameof(WindowTokens));
        if (!(MinEmitFill >= 0 && MinEmitFill <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinEmitFill), MinEmitFill, "Must be within [0, 1].");
        if (!(MaxCarryFraction >= 0 && MaxCarryFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxCarryFraction), MaxCarryFraction, "Must be within [0, 1].");
    }
}
