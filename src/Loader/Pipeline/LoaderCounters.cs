namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// A snapshot of the loader's accounting: every row read ends emitted, dropped with a reason, or is still in flight
/// (<see cref="InFlight"/>; 0 once a finite run has ended), so <c>RowsRead = SamplesEmitted + Dropped + InFlight</c>.
/// Counts are this loader's: a loader resumed from a <see cref="LoaderState"/> counts from the resume on (the rows of
/// the samples the state carried are read again and counted).
/// </summary>
public sealed record LoaderCounters
{
    /// <summary>Rows read from the sources (this rank).</summary>
    public long RowsRead { get; init; }

    /// <summary>Rows read per mixture source.</summary>
    public IReadOnlyList<long> RowsPerSource { get; init; } = [];

    /// <summary>Samples emitted per mixture source.</summary>
    public IReadOnlyList<long> EmittedPerSource { get; init; } = [];

    /// <summary>Samples written into emitted batches.</summary>
    public long SamplesEmitted { get; init; }

    /// <summary>Drops by reason, indexed by <see cref="DropReason"/>.</summary>
    public IReadOnlyList<long> DroppedByReason { get; init; } = new long[Enum.GetValues<DropReason>().Length];

    /// <summary>Batches emitted.</summary>
    public long Batches { get; init; }

    /// <summary>Packed sequences emitted.</summary>
    public long Packs { get; init; }

    /// <summary>Real (non-padding) tokens emitted, per-sample pads included.</summary>
    public long Tokens { get; init; }

    /// <summary>Images emitted.</summary>
    public long Images { get; init; }

    /// <summary>Tiles emitted (global tiles included).</summary>
    public long Tiles { get; init; }

    /// <summary>Bytes of the emitted batches (ids, labels, masks, positions, tiles).</summary>
    public long Bytes { get; init; }

    /// <summary>Literal <c>&lt;|image|&gt;</c> strings removed from texts.</summary>
    public long ImageTokensRemoved { get; init; }

    /// <summary>Sequence length of the packs.</summary>
    public int SequenceLength { get; init; }

    /// <summary>The number of samples dropped for <paramref name="reason"/>.</summary>
    public long DroppedFor(DropReason reason) => DroppedByReason[(int)reason];

    /// <summary>All drops.</summary>
    public long Dropped => DroppedByReason.Sum();

    /// <summary>Rows read and not yet emitted or dropped (buffered in the planner or in a batch being built).</summary>
    public long InFlight => RowsRead - SamplesEmitted - Dropped;

    /// <summary>Images per emitted sample.</summary>
    public double ImagesPerSample => SamplesEmitted == 0 ? 0 : (double)Images / SamplesEmitted;

    /// <summary>Tokens per emitted sample (its pad included).</summary>
    public double TokensPerSample => SamplesEmitted == 0 ? 0 : (double)Tokens / SamplesEmitted;

    /// <summary>Share of the emitted sequence positions that are tail padding (1 − fill).</summary>
    public double PaddingRatio => Packs == 0 ? 0 : 1 - (double)Tokens / ((double)Packs * SequenceLength);

    /// <summary>Share of the settled rows that were dropped.</summary>
    public double FilteredRatio => SamplesEmitted + Dropped == 0 ? 0 : (double)Dropped / (SamplesEmitted + Dropped);

    /// <summary>Emitted share of each source (the mixture actually delivered).</summary>
    public IReadOnlyList<double> MixtureShares
    {
        get
        {
            long total = EmittedPerSource.Sum();
            return EmittedPerSource.Select(e => total == 0 ? 0.0 : (double)e / total).ToArray();
        }
    }

    /// <summary>Data-quality warnings past the thresholds (filtered ratio &gt; 20 %, padding ratio &gt; 10 %).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var w = new List<string>();
            if (FilteredRatio > 0.2) w.Add($"filtered_ratio {FilteredRatio:P1} is above 20%");
            if (Packs > 0 && PaddingRatio > 0.1) w.Add($"padding_ratio {PaddingRatio:P1} is above 10%");
            return w;
        }
    }
}
