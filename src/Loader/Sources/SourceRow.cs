using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Sources;

/// <summary>Where a row came from: enough to name it in an error and to resume right after it.</summary>
/// <param name="Shard">Index of the shard in its source's <see cref="IRowSource.Shards"/> list.</param>
/// <param name="RowGroup">Parquet row group (0 for sources without row groups).</param>
/// <param name="Row">Row index within the shard, counted from 0 across row groups.</param>
public readonly record struct RowPosition(int Shard, int RowGroup, long Row);

/// <summary>One sample record as read from a source: the text side, the raw encoded image bytes, its position.</summary>
/// <remarks>Image bytes are slices of the reader's buffers where the format allows it; a row is valid until the
/// enumerator that produced it moves on, so copy what must outlive it.</remarks>
public sealed class SourceRow
{
    /// <summary>Position of the row in its source.</summary>
    public required RowPosition Position { get; init; }

    /// <summary>The shard's display name (file name or path) for messages.</summary>
    public required string ShardName { get; init; }

    /// <summary>Texts and per-turn ratings.</summary>
    public required TextSample Text { get; init; }

    /// <summary>Encoded image files (JPEG, PNG, ...), in sample order; empty for text-only rows.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> Images { get; init; }

    /// <summary>The record's <c>source</c> string when the format has one.</summary>
    public string? Source { get; init; }
}
