using System.Text.Json;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// Where a <see cref="DataLoader"/> stands after a batch, to resume a run with exactly the batches that would have
/// followed. Take it from <see cref="Batch.StateAfter"/>, persist it with <see cref="ToJson"/> (a few KB: it lists
/// the samples the planner holds), and pass it to a new loader built with the same options and sources.
/// </summary>
/// <remarks>
/// Resuming costs the planner's window, not the run so far: the loader re-reads only the rows of
/// <see cref="Carried"/> and <see cref="ReadyPacks"/> (by shard and row), restores the planner and the mixture's random
/// state, and continues every source at its <see cref="Sources"/> position. <see cref="Fingerprint"/> guards against
/// resuming with other options or shards.
/// </remarks>
public sealed record LoaderState
{
    /// <summary>Batches emitted so far.</summary>
    public long BatchesEmitted { get; init; }

    /// <summary>Rows the shape stage consumed so far, over the whole run (all sources).</summary>
    public long RowsRead { get; init; }

    /// <summary>Per source of the mixture: where reading continues.</summary>
    public IReadOnlyList<SourcePosition> Sources { get; init; } = [];

    /// <summary>State of the mixture's source draws.</summary>
    public ulong MixtureRandom { get; init; }

    /// <summary>The mixture stage the last row belonged to.</summary>
    public int Stage { get; init; }

    /// <summary>Samples buffered in the planner (carried to the next window), in buffer order.</summary>
    public IReadOnlyList<SampleOrigin> Carried { get; init; } = [];

    /// <summary>Packs planned but not yet in a batch, in order.</summary>
    public IReadOnlyList<IReadOnlyList<SampleOrigin>> ReadyPacks { get; init; } = [];

    /// <summary>Words the planner's pack shuffle has drawn (its random state).</summary>
    public long PlannerDraws { get; init; }

    /// <summary>Hash of the options and sources that determine the batches.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>Serializes the state as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static LoaderState FromJson(string json)
        => JsonSerializer.Deserialize<LoaderState>(json) ?? throw new JsonException("Empty loader state.");
}
