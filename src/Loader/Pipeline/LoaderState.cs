using System.Text.Json;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// Where a <see cref="DataLoader"/> stands after a batch, to resume a run with exactly the batches that would have
/// followed. Take it from <see cref="Batch.StateAfter"/>, persist it with <see cref="ToJson"/>, and pass it to a new
/// loader built with the same options and sources.
/// </summary>
/// <remarks>
/// Resuming re-runs the cheap metadata stages (read, filter, tokenize, image headers, plan) up to
/// <see cref="BatchesEmitted"/> without decoding an image or filling a slab, then continues normally; that re-creates
/// the planner's carried samples and RNG state exactly. <see cref="Fingerprint"/> guards against resuming with other
/// options.
/// </remarks>
public sealed record LoaderState
{
    /// <summary>Batches emitted so far.</summary>
    public long BatchesEmitted { get; init; }

    /// <summary>The epoch of the last row read (of the first source).</summary>
    public int Epoch { get; init; }

    /// <summary>Index into the epoch's shard order of the last row read (of the first source).</summary>
    public int ShardCursor { get; init; }

    /// <summary>Row within that shard of the last row read.</summary>
    public long Row { get; init; }

    /// <summary>Rows read so far (all sources).</summary>
    public long RowsRead { get; init; }

    /// <summary>Samples buffered in the planner (carried to later windows) after this batch.</summary>
    public int CarriedSamples { get; init; }

    /// <summary>Hash of the options and sources that determine the batches.</summary>
    public string Fingerprint { get; init; } = "";

    /// <summary>Serializes the state as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static LoaderState FromJson(string json)
        => JsonSerializer.Deserialize<LoaderState>(json) ?? throw new JsonException("Empty loader state.");
}
