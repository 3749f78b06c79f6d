namespace NanoVlm.Loader.Sources;

/// <summary>
/// The shell shared by the file-backed sources: a fixed, ordered list of shard files, argument checks, and lazy
/// reading (nothing is opened until a shard is enumerated). Derived classes only parse one shard.
/// </summary>
public abstract class FileRowSource : IRowSource
{
    private readonly string[] _shards;

    /// <summary>Takes the shard files in the given order.</summary>
    /// <param name="shardPaths">Shard files; at least one.</param>
    /// <param name="name">Name for reports; defaults to the first shard's folder.</param>
    private protected FileRowSource(IEnumerable<string> shardPaths, string? name)
    {
        ArgumentNullException.ThrowIfNull(shardPaths);
        _shards = [.. shardPaths];
        if (_shards.Length == 0) throw new ArgumentException("at least one shard is required", nameof(shardPaths));
        Name = name ?? Path.GetDirectoryName(_shards[0]) ?? _shards[0];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Shards => _shards;

    /// <inheritdoc/>
    public IEnumerable<SourceRow> ReadShard(int shard, long startRow = 0, CancellationToken cancellationToken = default)
    {
        // Checked eagerly, before the lazy iterator runs, so a bad argument fails at the call.
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, _shards.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(startRow);
        return Rows(_shards[shard], shard, startRow, cancellationToken);
    }

    /// <summary>Streams the rows of the shard file at <paramref name="path"/> (index <paramref name="shard"/>).</summary>
    private protected abstract IEnumerable<SourceRow> Rows(string path, int shard, long startRow, CancellationToken cancellationToken);

    /// <summary>Nothing to release: each <see cref="ReadShard"/> enumeration owns and closes its file, so enumerations
    /// of different shards (or the same one) may run concurrently on different threads.</summary>
    public void Dispose() => GC.SuppressFinalize(this);
}
