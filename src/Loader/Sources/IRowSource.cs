namespace NanoVlm.Loader.Sources;

/// <summary>A dataset made of shards that can each be read sequentially from a given row.</summary>
/// <remarks>The loader decides which shards a rank reads and in which order (sharding, shuffling, resume); a source
/// only lists its shards and streams one of them with bounded memory.</remarks>
public interface IRowSource : IDisposable
{
    /// <summary>A short name for reports (e.g. the folder or glob it was opened from).</summary>
    string Name { get; }

    /// <summary>Shard names in a stable order (sorted paths); indices are used by <see cref="RowPosition.Shard"/>.</summary>
    IReadOnlyList<string> Shards { get; }

    /// <summary>Streams the rows of one shard starting at row <paramref name="startRow"/>.</summary>
    /// <remarks>Each row is valid only until the enumerator moves on (the source may reuse the row object, its text
    /// sample, its lists and its buffers for the next row): copy what must outlive it, e.g. with
    /// <see cref="SourceRow.Copy"/>. Enumerations are independent of each other.</remarks>
    /// <exception cref="DataSourceException">The shard is unreadable, truncated or has the wrong schema.</exception>
    IEnumerable<SourceRow> ReadShard(int shard, long startRow = 0, CancellationToken cancellationToken = default);
}
