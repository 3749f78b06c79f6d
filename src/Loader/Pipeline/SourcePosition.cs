namespace NanoVlm.Loader.Pipeline;

/// <summary>Where the loader stands in one source of its mixture (part of <see cref="LoaderState"/>).</summary>
public readonly record struct SourcePosition
{
    /// <summary>The epoch (0-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Index into the epoch's (shuffled) shard order of the shard being read.</summary>
    public int ShardCursor { get; init; }

    /// <summary>The next row to read in that shard.</summary>
    public long NextRow { get; init; }

    /// <summary>Rows seen in this epoch, when rows rather than shards are dealt to the ranks (fewer shards than ranks).</summary>
    public long RowsDealt { get; init; }

    /// <summary>Whether this rank has read a row in this epoch (an epoch without one ends the source).</summary>
    public bool EpochHasRows { get; init; }

    /// <summary>Whether the source has ended (every epoch read).</summary>
    public bool Ended { get; init; }
}
