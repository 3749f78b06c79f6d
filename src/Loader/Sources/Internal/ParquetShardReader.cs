using NanoVlm.Loader.Text;
using ParquetSharp;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// One open FineVision-layout parquet shard read through Apache Arrow's C++ Parquet library (ParquetSharp's
/// low-level column readers): footer read and columns bound on open, then one row group at a time decoded into
/// reused buffers and handed out row by row. Every failure becomes a <see cref="DataSourceException"/> naming the
/// shard, row group and column.
/// </summary>
internal sealed partial class ParquetShardReader : IDisposable
{
    // Upper bound on a column chunk's level entries; a damaged footer must not make us allocate gigabytes.
    private const long MaxEntriesPerChunk = 1L << 27;

    private readonly string _path;
    private readonly int _shardIndex;
    private readonly ParquetFileReader _reader;
    private readonly FineVisionParquetBinding _binding;
    private readonly long[] _rowGroupFirstRow;
    private readonly ParquetReadBuffers _b;
    private readonly NativeByteBuffer _imageBytes = new();
    private int _group = -1;
    private bool _hasSource;

    private ParquetShardReader(string path, int shardIndex, ParquetFileReader reader, FineVisionParquetBinding binding,
        long[] rowGroupFirstRow, ParquetReadBuffers buffers)
    {
        _path = path;
        _shardIndex = shardIndex;
        _reader = reader;
        _binding = binding;
        _rowGroupFirstRow = rowGroupFirstRow;
        _b = buffers;
    }

    /// <summary>Number of row groups.</summary>
    public int RowGroupCount => _rowGroupFirstRow.Length - 1;

    /// <summary>Index of the first row of row group <paramref name="g"/> within the shard.</summary>
    public long FirstRow(int g) => _rowGroupFirstRow[g];

    /// <summary>Rows in row group <paramref name="g"/> (from the footer, without reading data).</summary>
    public long RowCount(int g) => _rowGroupFirstRow[g + 1] - _rowGroupFirstRow[g];

    /// <summary>Opens the shard and binds its columns; the reader decodes into <paramref name="buffers"/> (which must not
    /// be in use by another reader) and hands out their row.</summary>
    /// <exception cref="DataSourceException">The file is missing, not parquet, has a damaged footer or the wrong schema.</exception>
    public static ParquetShardReader Open(string path, int shardIndex, ParquetReadBuffers buffers, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!File.Exists(path)) throw new DataSourceException(path, "cannot open: the file does not exist");
        ParquetFileReader? reader = null;
        try
        {
            // Arrow checks the footer's magic only; a damaged start of the file is reported here.
            CheckLeadingMagic(path);
            reader = new ParquetFileReader(path);
            using var meta = reader.FileMetaData;
            var groups = meta.NumRowGroups;
            var firstRow = new long[groups + 1];
            for (var g = 0; g < groups; g++)
            {
                using var rowGroup = reader.RowGroup(g);
                var groupMeta = rowGroup.MetaData;
                var n = groupMeta.NumRows;
                if (n < 0 || n > int.MaxValue)
                    throw new DataSourceException(path, $"row count {n} in the footer (damaged footer)", g);
                firstRow[g + 1] = firstRow[g] + n;
            }
            var schema = meta.Schema;
            var binding = FineVisionParquetBinding.Bind(schema, path);
            var shard = new ParquetShardReader(path, shardIndex, reader, binding, firstRow, buffers);
            reader = null;
            return shard;
        }
        catch (Exception e) when (e is not (DataSourceException or OperationCanceledException))
        {
            throw new DataSourceException(path, $"not a readable parquet file: {Describe(e)}", inner: e);
        }
        finally
        {
            reader?.Dispose();
        }
    }

    private static void CheckLeadingMagic(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var file = File.OpenHandle(path);
        var n = RandomAccess.Read(file, head, 0);
        // "PAR1", or "PARE" for a file with an encrypted footer.
        if (n < 4 || !head[..3].SequenceEqual("PAR"u8) || (head[3] != (byte)'1' && head[3] != (byte)'E'))
            throw new InvalidDataException(
                $"the file does not start with the parquet magic PAR1 (found {Convert.ToHexString(head[..n])}, {new FileInfo(path).Length} bytes)");
    }

    /// <summary>Decodes every bound column of row group <paramref name="g"/>; its rows are then built by
    /// <see cref="Row"/> until the next call.</summary>
    public void ReadRowGroup(int g, CancellationToken cancellationToken)
    {
        var rows = (int)RowCount(g);
        var firstRow = FirstRow(g);
        _group = -1;
        var column = "";
        try
        {
            using var rowGroup = _reader.RowGroup(g);
            var b = _binding;
            column = b.TextsUser.Column;
            ReadTexts(rowGroup, b.TextsUser, rows, _b.User, cancellationToken);
            column = b.TextsAssistant.Column;
            ReadTexts(rowGroup, b.TextsAssistant, rows, _b.Assistant, cancellationToken);
            if (b.ImageBytes is { } ib)
            {
                column = ib.Column;
                ReadImages(rowGroup, ib, rows, cancellationToken);
            }
            if (b.Source is { } sc)
            {
                column = sc.Column;
                ReadStrings(rowGroup, sc, rows, _b.Source, cancellationToken);
            }
            _hasSource = b.Source is not null;
            for (var i = 0; i < b.Ratings.Length; i++)
            {
                if (b.Ratings[i] is not { } rl) continue;
                column = rl.Column;
                ReadIntegers(rowGroup, rl, rows, _b.Ratings[i], cancellationToken);
            }
            _group = g;
        }
        catch (Exception e) when (e is not (DataSourceException or OperationCanceledException))
        {
            // The failing row is not known inside a column chunk: name the row group's row range instead.
            throw new DataSourceException(_path,
                $"cannot read the column chunk of rows {firstRow}..{firstRow + rows - 1} (corrupt or truncated data): {Describe(e)}", g,
                column: column.Length == 0 ? null : column, inner: e);
        }
        catch (LevelsException e)
        {
            throw new DataSourceException(_path, $"inconsistent definition/repetition levels: {e.Message}", g, column: column);
        }
    }

    /// <summary>Row <paramref name="r"/> of the row group last read, in the reader's one reused row: valid until the next
    /// <see cref="Row"/> or <see cref="ReadRowGroup"/>.</summary>
    public SourceRow Row(int r)
    {
        var g = _group;
        var row = FirstRow(g) + r;
        var b = _b;
        var user = b.User.Levels;
        var assistant = b.Assistant.Levels;
        if (user.Count(r) != assistant.Count(r))
            throw new DataSourceException(_path,
                $"texts has {user.Count(r)} user and {assistant.Count(r)} assistant entries", g, row, "texts");
        b.Turns.Clear();
        var turns = user.RowIsNull(r) ? null : b.Turns;
        if (turns is not null)
            for (var k = 0; k < user.Count(r); k++) turns.Add(new ChatTurn(b.User.At(r, k), b.Assistant.At(r, k)));
        b.ImageList.Clear();
        if (_binding.ImageBytes is not null)
            for (var k = 0; k < b.Images.Count(r); k++)
                b.ImageList.Add(b.Images.ValueAt(r, k) is var v and >= 0 ? _imageBytes.Slice(b.ImageOffsets[v], b.ImageLengths[v]) : default);
        b.Row.Text.Set(turns, RatingList(0, r), RatingList(1, r), RatingList(2, r), RatingList(3, r));
        b.Row.Set(new RowPosition(_shardIndex, g, row), _path, b.ImageList,
            _hasSource && b.Source.Levels.Count(r) > 0 ? b.Source.At(r, 0) : null);
        return b.Row;
    }

    private List<long?>? RatingList(int i, int r)
    {
        if (_binding.Ratings[i] is null) return null;
        var column = _b.Ratings[i];
        if (column.Levels.RowIsNull(r)) return null;
        var list = _b.RatingLists[i];
        list.Clear();
        for (var k = 0; k < column.Levels.Count(r); k++)
            list.Add(column.Levels.ValueAt(r, k) is var v and >= 0 ? column.Values[v] : null);
        return list;
    }

    private void ReadTexts(RowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int rows, TextColumn into,
        CancellationToken cancellationToken)
    {
        using var reader = Open<ByteArray>(rowGroup, leaf, rows, out var entries);
        into.Begin(entries);
        ReadLevels(reader, leaf, entries, rows, into.Levels, cancellationToken, into, static (batch, at, into) =>
        {
            for (var i = 0; i < batch.Length; i++) into.Decode(at + i, batch[i]);
        });
    }

    private void ReadStrings(RowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int rows, StringColumn into,
        CancellationToken cancellationToken)
    {
        using var reader = Open<ByteArray>(rowGroup, leaf, rows, out var entries);
        into.Grow(entries);
        ReadLevels(reader, leaf, entries, rows, into.Levels, cancellationToken, into, static (batch, at, into) =>
        {
            for (var i = 0; i < batch.Length; i++) into.Values[at + i] = into.Decode(batch[i]);
        });
    }

    private void ReadImages(RowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int rows, CancellationToken cancellationToken)
    {
        using var reader = Open<ByteArray>(rowGroup, leaf, rows, out var entries);
        _b.GrowImages(entries);
        _imageBytes.Clear();
        // Arrow's decoded page is only valid until the next batch: copy each image once into the row group's buffer.
        ReadLevels(reader, leaf, entries, rows, _b.Images, cancellationToken, this, static (batch, at, self) =>
        {
            var b = self._b;
            for (var i = 0; i < batch.Length; i++)
            {
                b.ImageLengths[at + i] = batch[i].Length;
                b.ImageOffsets[at + i] = self._imageBytes.Append(Bytes(batch[i]));
            }
        });
    }

    private void ReadIntegers(RowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int rows, IntegerColumn into,
        CancellationToken cancellationToken)
    {
        if (leaf.Type == PhysicalType.Int64)
        {
            using var reader = Open<long>(rowGroup, leaf, rows, out var entries);
            into.Grow(entries);
            ReadLevels(reader, leaf, entries, rows, into.Levels, cancellationToken, into,
                static (batch, at, into) => batch.CopyTo(into.Values.AsSpan(at)));
        }
        else
        {
            using var reader = Open<int>(rowGroup, leaf, rows, out var entries);
            into.Grow(entries);
            ReadLevels(reader, leaf, entries, rows, into.Levels, cancellationToken, into, static (batch, at, into) =>
            {
                for (var i = 0; i < batch.Length; i++) into.Values[at + i] = batch[i];
            });
        }
    }

    private ColumnReader<T> Open<T>(RowGroupReader rowGroup, FineVisionParquetBinding.Leaf leaf, int rows, out int entries)
        where T : unmanaged
    {
        using (var meta = rowGroup.MetaData.GetColumnChunkMetaData(leaf.ColumnIndex))
        {
            var n = meta.NumValues;
            if (n < rows || n > MaxEntriesPerChunk)
                throw new InvalidDataException($"the footer's chunk metadata is inconsistent ({n} values for {rows} rows)");
            entries = (int)n;
        }
        var reader = rowGroup.Column(leaf.ColumnIndex);
        if (reader is ColumnReader<T> typed) return typed;
        var found = reader.ElementType.Name;
        reader.Dispose();
        throw new InvalidDataException($"the column chunk holds {found} values, the schema says {leaf.Type}");
    }

    /// <summary>A batch of decoded values, the index of its first value in the column, and the sink's state (a
    /// static lambda with explicit state: no closure per column chunk).</summary>
    private delegate void ValueSink<T, TState>(ReadOnlySpan<T> batch, int at, TState state);

    // Reads the chunk's levels and values in Arrow's page-sized batches, handing each batch of values to `sink` while
    // Arrow's buffers are valid, then reassembles the rows.
    private void ReadLevels<T, TState>(ColumnReader<T> reader, FineVisionParquetBinding.Leaf leaf, int entries, int rows,
        LeveledColumn into, CancellationToken cancellationToken, TState state, ValueSink<T, TState> sink) where T : unmanaged
    {
        var scratch = _b.Scratch;
        var values = scratch.Values<T>(entries);
        scratch.GrowLevels(entries);
        var hasDef = leaf.Levels.LeafPresent > 0;
        var hasRep = leaf.Levels.MaxRepetition > 0;
        int levels = 0, read = 0;
        while (levels < entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var want = entries - levels;
            var n = (int)reader.ReadBatch(want,
                hasDef ? scratch.Definition.AsSpan(levels, want) : default,
                hasRep ? scratch.Repetition.AsSpan(levels, want) : default,
                values.AsSpan(0, want), out var valuesRead);
            if (n == 0) throw new InvalidDataException($"the column chunk ended after {levels} of the footer's {entries} values");
            sink(values.AsSpan(0, (int)valuesRead), read, state);
            levels += n;
            read += (int)valuesRead;
        }
        if (reader.HasNext) throw new InvalidDataException($"the column chunk has more than the footer's {entries} values");
        if (into.Assemble(hasDef ? scratch.Definition.AsSpan(0, entries) : default,
                hasRep ? scratch.Repetition.AsSpan(0, entries) : default, entries, read, rows, leaf.Levels) is { } error)
            throw new LevelsException(error);
    }

    // ParquetSharp reports Arrow's errors as "<mangled C++ type> (message: '<what>')": keep the what.
    private static string Describe(Exception e) =>
        e is ParquetException && ArrowMessage().Match(e.Message) is { Success: true } m ? m.Groups[1].Value.Trim() : e.Message;

    [System.Text.RegularExpressions.GeneratedRegex(@"^\S+ \(message: '(.*)'\)\s*$", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex ArrowMessage();

    private static ReadOnlySpan<byte> Bytes(ByteArray value) => StringColumn.Bytes(value);

    public void Dispose()
    {
        _reader.Dispose();
        _imageBytes.Dispose();
    }

    private sealed class LevelsException(string message) : Exception(message);
}
