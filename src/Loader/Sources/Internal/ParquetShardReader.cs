using Parquet;
using Parquet.Meta;
using Parquet.Schema;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// One open FineVision-layout parquet shard: footer read and columns bound on open, then rows assembled one row group
/// at a time. Every failure becomes a <see cref="DataSourceException"/> naming the shard, row group and column.
/// </summary>
internal sealed class ParquetShardReader : IDisposable
{
    // Upper bound on a column chunk's level entries; a damaged footer must not make us allocate gigabytes.
    private const long MaxEntriesPerChunk = 1L << 27;

    private readonly string _path;
    private readonly int _shardIndex;
    private readonly ReadBudgetStream _stream;
    private readonly ParquetReader _reader;
    private readonly FineVisionParquetBinding _binding;
    private readonly long[] _rowGroupFirstRow;

    private ParquetShardReader(string path, int shardIndex, ReadBudgetStream stream, ParquetReader reader,
        FineVisionParquetBinding binding)
    {
        _path = path;
        _shardIndex = shardIndex;
        _stream = stream;
        _reader = reader;
        _binding = binding;
        _rowGroupFirstRow = new long[reader.RowGroupCount + 1];
        var meta = reader.Metadata!.RowGroups;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var n = meta[g].NumRows;
            if (n < 0) throw new DataSourceException(path, $"negative row count {n} in the footer (damaged footer)", g);
            _rowGroupFirstRow[g + 1] = _rowGroupFirstRow[g] + n;
        }
    }

    /// <summary>Number of row groups.</summary>
    public int RowGroupCount => _rowGroupFirstRow.Length - 1;

    /// <summary>Index of the first row of row group <paramref name="g"/> within the shard.</summary>
    public long FirstRow(int g) => _rowGroupFirstRow[g];

    /// <summary>Rows in row group <paramref name="g"/> (from the footer, without reading data).</summary>
    public long RowCount(int g) => _rowGroupFirstRow[g + 1] - _rowGroupFirstRow[g];

    /// <summary>Opens the shard and binds its columns.</summary>
    /// <exception cref="DataSourceException">The file is missing, not parquet, has a damaged footer or the wrong schema.</exception>
    public static ParquetShardReader Open(string path, int shardIndex, CancellationToken cancellationToken)
    {
        ReadBudgetStream? stream;
        try
        {
            stream = new ReadBudgetStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16,
                FileOptions.RandomAccess));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataSourceException(path, $"cannot open: {e.Message}", inner: e);
        }
        ParquetReader? reader = null;
        try
        {
            // The footer read is bounded by the file size.
            stream.SetBudget(stream.Length + 1);
            reader = ParquetReader.CreateAsync(stream, new ParquetOptions(), leaveStreamOpen: true, cancellationToken)
                .GetAwaiter().GetResult();
            stream.ClearBudget();
            if (reader.Metadata is null) throw new InvalidDataException("the footer has no file metadata");
            var binding = FineVisionParquetBinding.Bind(reader.Schema, path);
            var shard = new ParquetShardReader(path, shardIndex, stream, reader, binding);
            stream = null;
            reader = null;
            return shard;
        }
        catch (Exception e) when (e is not (DataSourceException or OperationCanceledException))
        {
            throw new DataSourceException(path, $"not a readable parquet file: {e.Message}", inner: e);
        }
        finally
        {
            reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            stream?.Dispose();
        }
    }

    /// <summary>
    /// Reads row group <paramref name="g"/> and returns its rows from <paramref name="skip"/> on. Images are the
    /// byte arrays parquet decoded (one copy out of the page, none more).
    /// </summary>
    public List<SourceRow> ReadRowGroup(int g, long skip, CancellationToken cancellationToken)
    {
        var rows = checked((int)RowCount(g));
        var firstRow = FirstRow(g);
        string column = "";
        try
        {
            using var rowGroup = _reader.OpenRowGroupReader(g);
            var b = _binding;
            column = b.TextsUser.Column;
            var user = Read<ReadOnlyMemory<char>>(rowGroup, b.TextsUser, g, rows, cancellationToken);
            column = b.TextsAssistant.Column;
            var assistant = Read<ReadOnlyMemory<char>>(rowGroup, b.TextsAssistant, g, rows, cancellationToken);
            LeveledColumn<ReadOnlyMemory<byte>>? images = null;
            if (b.ImageBytes is { } ib)
            {
                column = ib.Column;
                images = Read<ReadOnlyMemory<byte>>(rowGroup, ib, g, rows, cancellationToken);
            }
            LeveledColumn<ReadOnlyMemory<char>>? source = null;
            if (b.Source is { } sc)
            {
                column = sc.Column;
                source = Read<ReadOnlyMemory<char>>(rowGroup, sc, g, rows, cancellationToken);
            }
            var ratings = new LeveledColumn<long>?[b.Ratings.Length];
            for (var i = 0; i < ratings.Length; i++)
            {
                if (b.Ratings[i] is not { } rl) continue;
                column = rl.Column;
                ratings[i] = rl.Field.ClrType == typeof(long)
                    ? Read<long>(rowGroup, rl, g, rows, cancellationToken)
                    : Read<int>(rowGroup, rl, g, rows, cancellationToken).Map(x => (long)x);
            }
            column = "";

            var result = new List<SourceRow>(rows - (int)Math.Min(skip, rows));
            for (var r = (int)Math.Min(skip, rows); r < rows; r++)
            {
                column = b.TextsAssistant.Column;
                if (user.Count(r) != assistant.Count(r))
                    throw new DataSourceException(_path,
                        $"texts has {user.Count(r)} user and {assistant.Count(r)} assistant entries", g, firstRow + r, "texts");
                IReadOnlyList<ChatTurn>? turns = null;
                if (!user.RowIsNull[r])
                {
                    var t = new ChatTurn[user.Count(r)];
                    for (var k = 0; k < t.Length; k++)
                        t[k] = new ChatTurn(Str(user.At(r, k)), Str(assistant.At(r, k)));
                    turns = t;
                }
                IReadOnlyList<ReadOnlyMemory<byte>> imageList = [];
                if (images is not null && images.Count(r) > 0)
                {
                    var list = new ReadOnlyMemory<byte>[images.Count(r)];
                    for (var k = 0; k < list.Length; k++)
                        list[k] = images.At(r, k) ?? ReadOnlyMemory<byte>.Empty;
                    imageList = list;
                }
                result.Add(new SourceRow
                {
                    Position = new RowPosition(_shardIndex, g, firstRow + r),
                    ShardName = _path,
                    Text = new TextSample
                    {
                        Texts = turns,
                        RelevanceRatings = RatingList(ratings[0], r),
                        ImageCorrespondenceRatings = RatingList(ratings[1], r),
                        VisualDependencyRatings = RatingList(ratings[2], r),
                        FormattingRatings = RatingList(ratings[3], r),
                    },
                    Images = imageList,
                    Source = source is null ? null : Str(source.At(r, 0)),
                });
            }
            return result;
        }
        catch (Exception e) when (e is not (DataSourceException or OperationCanceledException))
        {
            // The failing row is not known inside a column chunk: name the row group's row range instead.
            throw new DataSourceException(_path,
                $"cannot read the column chunk of rows {firstRow}..{firstRow + rows - 1} (corrupt or truncated data): {e.Message}", g,
                column: column.Length == 0 ? null : column, inner: e);
        }
        finally
        {
            _stream.ClearBudget();
        }
    }

    private static string? Str(ReadOnlyMemory<char>? s) => s is { } m ? new string(m.Span) : null;

    private static long?[]? RatingList(LeveledColumn<long>? column, int r)
    {
        if (column is null || column.RowIsNull[r]) return null;
        var list = new long?[column.Count(r)];
        for (var k = 0; k < list.Length; k++) list[k] = column.At(r, k);
        return list;
    }

    private LeveledColumn<T> Read<T>(ParquetRowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int g, int rows,
        CancellationToken cancellationToken) where T : struct
    {
        cancellationToken.ThrowIfCancellationRequested();
        var field = leaf.Field;
        ColumnChunk chunk = rowGroup.GetMetadata(field)
            ?? throw new DataSourceException(_path, "the row group has no chunk for this column (damaged footer)", g, column: leaf.Column);
        var meta = chunk.MetaData
            ?? throw new DataSourceException(_path, "the column chunk has no metadata (damaged footer)", g, column: leaf.Column);
        var entries = meta.NumValues;
        var start = new[] { meta.DictionaryPageOffset ?? 0, meta.DataPageOffset, meta.IndexPageOffset ?? 0 }.Where(o => o != 0)
            .DefaultIfEmpty(0).Min();
        if (entries < rows || entries > MaxEntriesPerChunk || start < 4 || meta.TotalCompressedSize < 0
            || start + meta.TotalCompressedSize > _stream.Length)
            throw new DataSourceException(_path,
                $"the footer's chunk metadata is inconsistent (values {entries}, offset {start}, size {meta.TotalCompressedSize}, " +
                $"file {_stream.Length} bytes, {rows} rows)", g, column: leaf.Column);
        var n = (int)entries;
        var values = new T[n];
        var definition = field.MaxDefinitionLevel > 0 ? new int[n] : null;
        var repetition = field.MaxRepetitionLevel > 0 ? new int[n] : null;
        _stream.SetBudget(2 * meta.TotalCompressedSize + (1 << 20));
        // Explicit nulls: an int[] null would convert to an empty Memory<int>, not to a missing buffer.
        Memory<int>? defBuffer = null, repBuffer = null;
        if (definition is not null) defBuffer = definition;
        if (repetition is not null) repBuffer = repetition;
        rowGroup.ReadRawAsync<T>(field, values, defBuffer, repBuffer, cancellationToken).AsTask().GetAwaiter().GetResult();
        _stream.ClearBudget();
        return LeveledColumn<T>.Assemble(values, definition, repetition, n, rows, leaf.Levels, out var error)
            ?? throw new DataSourceException(_path, $"inconsistent definition/repetition levels: {error}", g, column: leaf.Column);
    }

    public void Dispose()
    {
        _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Dispose();
    }
}
