using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Sources;

/// <summary>Where a row came from: enough to name it in an error and to resume right after it.</summary>
/// <param name="Shard">Index of the shard in its source's <see cref="IRowSource.Shards"/> list.</param>
/// <param name="RowGroup">Parquet row group (0 for sources without row groups).</param>
/// <param name="Row">Row index within the shard, counted from 0 across row groups.</param>
public readonly record struct RowPosition(int Shard, int RowGroup, long Row);

/// <summary>One sample record as read from a source: the text side, the raw encoded image bytes, its position.</summary>
/// <remarks>A row is valid until the enumerator that produced it moves on: a source may hand out the same
/// <see cref="SourceRow"/>, <see cref="TextSample"/> and lists for every row of an enumeration, with texts and image
/// bytes that are slices of its reused buffers (the parquet source does, so that a steady read allocates nothing).
/// Copy what must outlive the row (<see cref="Copy"/> copies all of it); the shard name and the source string may be
/// kept as they are.</remarks>
public sealed class SourceRow
{
    private RowPosition _position;
    private string _shardName = "";
    private TextSample _text = null!;
    private IReadOnlyList<ReadOnlyMemory<byte>> _images = [];
    private string? _source;

    /// <summary>Position of the row in its source.</summary>
    public required RowPosition Position { get => _position; init => _position = value; }

    /// <summary>The shard's display name (file name or path) for messages.</summary>
    public required string ShardName { get => _shardName; init => _shardName = value; }

    /// <summary>Texts and per-turn ratings.</summary>
    public required TextSample Text { get => _text; init => _text = value; }

    /// <summary>Encoded image files (JPEG, PNG, ...), in sample order; empty for text-only rows.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> Images { get => _images; init => _images = value; }

    /// <summary>The record's <c>source</c> string when the format has one.</summary>
    public string? Source { get => _source; init => _source = value; }

    /// <summary>A copy that owns its texts (as strings), rating lists and image bytes, valid after the enumerator
    /// that produced this row has moved on.</summary>
    public SourceRow Copy() => new()
    {
        Position = _position,
        ShardName = _shardName,
        Source = _source,
        Text = new TextSample
        {
            Texts = _text.Texts?.Select(t => new ChatTurn(t.User.ToString(), t.Assistant.ToString())).ToArray(),
            RelevanceRatings = _text.RelevanceRatings?.ToArray(),
            ImageCorrespondenceRatings = _text.ImageCorrespondenceRatings?.ToArray(),
            VisualDependencyRatings = _text.VisualDependencyRatings?.ToArray(),
            FormattingRatings = _text.FormattingRatings?.ToArray(),
        },
        Images = _images.Select(i => (ReadOnlyMemory<byte>)i.ToArray()).ToArray(),
    };

    /// <summary>Refills a reader's reused row for its next row (the text sample is refilled by the caller).</summary>
    internal void Set(RowPosition position, string shardName, IReadOnlyList<ReadOnlyMemory<byte>> images, string? source)
    {
        _position = position;
        _shardName = shardName;
        _images = images;
        _source = source;
    }

    /// <summary>A row for a reader to reuse: its own text sample is fixed, the rest is set per row.</summary>
    internal static SourceRow Reusable() =>
        new() { Position = default, ShardName = "", Text = new TextSample(), Images = [] };
}
