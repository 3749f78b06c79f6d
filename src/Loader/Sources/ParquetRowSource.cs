using NanoVlm.Loader.Sources.Internal;

namespace NanoVlm.Loader.Sources;

/// <summary>
/// Parquet shards in the FineVision layout, read with Apache Arrow's C++ Parquet library (ParquetSharp), the reader
/// pyarrow wraps: <c>images</c> = list of struct {bytes, path},
/// <c>texts</c> = list of struct {user, assistant} (fields bound by name, any order), a top-level <c>source</c> string
/// and the four per-turn rating lists (list&lt;int64&gt;, entries nullable, columns optional; their <c>*_min</c>
/// columns are ignored). Columns are bound by name, so their order does not matter.
/// </summary>
/// <remarks>
/// A shard is read one row group at a time, so memory is bounded by the largest row group; a
/// <see cref="FileRowSource.ReadShard"/> from a later row skips whole row groups using only the footer. A steady read
/// allocates nothing per row: an enumeration hands out one reused <see cref="SourceRow"/> (with its
/// <see cref="Text.TextSample"/> and lists), refilled for each row, so a row is valid until the enumerator moves on.
/// The turn texts are slices of one char buffer per open shard, decoded once per row group from UTF-8 (invalid
/// bytes become U+FFFD, as <see cref="System.Text.Encoding.UTF8"/> decodes them); each image's bytes are a slice of one
/// native buffer per open shard, copied once out of Arrow's decoded page (as Arrow's own record-batch reader copies
/// values out of pages); reading an image slice after the enumeration ended throws
/// <see cref="ObjectDisposedException"/>. A missing <c>texts</c> column, a
/// column of the wrong type, a file that is not parquet, a damaged footer or a damaged data page raise a
/// <see cref="DataSourceException"/> naming the file, row group, row (when known) and column.
/// </remarks>
public sealed class ParquetRowSource : FileRowSource
{
    // The decoded-column buffers of ended enumerations, for the next ones (one set per concurrent enumeration).
    private readonly Stack<ParquetReadBuffers> _buffers = new();

    /// <summary>Reads the given shard files in the given order.</summary>
    /// <param name="shardPaths">Parquet files; at least one.</param>
    /// <param name="name">Name for reports; defaults to the first shard's folder.</param>
    public ParquetRowSource(IEnumerable<string> shardPaths, string? name = null)
        : base(shardPaths, name) { }

    /// <summary>Opens a .parquet file, every .parquet file in a folder, or a glob such as <c>data/train-*.parquet</c>
    /// (sorted by path).</summary>
    /// <exception cref="FileNotFoundException">Nothing matches.</exception>
    public static ParquetRowSource Open(string path) => new(ShardPaths.Expand(path, ".parquet"), path);

    private protected override IEnumerable<SourceRow> Rows(string path, int shard, long startRow, CancellationToken cancellationToken)
    {
        ParquetReadBuffers? buffers;
        lock (_buffers) _buffers.TryPop(out buffers);
        buffers ??= new ParquetReadBuffers();
        try
        {
            using var reader = ParquetShardReader.Open(path, shard, buffers, cancellationToken);
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                // Row groups wholly before startRow are skipped from the footer alone, without decoding a page.
                if (reader.FirstRow(g) + reader.RowCount(g) <= startRow) continue;
                reader.ReadRowGroup(g, cancellationToken);
                for (var r = (int)Math.Max(0, startRow - reader.FirstRow(g)); r < reader.RowCount(g); r++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return reader.Row(r);
                }
            }
        }
        finally
        {
            // Only when the enumeration is disposed (or ends): an abandoned one keeps its buffers out of the pool.
            lock (_buffers) _buffers.Push(buffers);
        }
    }
}
