namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// One leaf column of a row group reassembled into rows: the per-row element ranges of a list column (or one element
/// per row for a top-level scalar), with nulls, from parquet's definition/repetition levels. The buffers are reused
/// from one row group to the next, so a steady read allocates nothing here.
/// </summary>
internal sealed class LeveledColumn
{
    private int[] _offsets = [];
    private bool[] _rowIsNull = [];
    private int[] _valueIndex = [];

    /// <summary>Number of elements of row <paramref name="row"/>.</summary>
    public int Count(int row) => _offsets[row + 1] - _offsets[row];

    /// <summary>True where the row's list (or scalar) itself is null.</summary>
    public bool RowIsNull(int row) => _rowIsNull[row];

    /// <summary>Index into the column's non-null values of element <paramref name="k"/> of row
    /// <paramref name="row"/>, or -1 where the element (or its struct) is null.</summary>
    public int ValueAt(int row, int k) => _valueIndex[_offsets[row] + k];

    /// <summary>
    /// Reassembles rows (Dremel record assembly for at most one level of repetition).
    /// </summary>
    /// <param name="definition">Definition levels, empty when the leaf is required all the way up.</param>
    /// <param name="repetition">Repetition levels, empty for a non-repeated column.</param>
    /// <param name="entries">Number of level entries read.</param>
    /// <param name="values">Number of non-null values read.</param>
    /// <param name="rows">Rows in the row group.</param>
    /// <param name="levels">The definition thresholds of the list, its element and the leaf.</param>
    /// <returns>Null when the levels are consistent, else why they are not.</returns>
    public string? Assemble(ReadOnlySpan<short> definition, ReadOnlySpan<short> repetition, int entries, int values, int rows,
        in LeafLevels levels)
    {
        Grow(ref _offsets, rows + 1);
        Grow(ref _rowIsNull, rows);
        Grow(ref _valueIndex, entries);
        int row = -1, v = 0, e = 0;
        var rowHasNoElements = false;
        for (var i = 0; i < entries; i++)
        {
            var r = repetition.IsEmpty ? 0 : repetition[i];
            var d = definition.IsEmpty ? levels.LeafPresent : definition[i];
            if (d < 0 || d > levels.LeafPresent || r < 0 || r > levels.MaxRepetition)
                return $"level out of range at entry {i} (definition {d}, repetition {r})";
            if (r == 0)
            {
                if (++row >= rows) return $"more rows in the levels than the row group's {rows}";
                _offsets[row] = e;
                _rowIsNull[row] = d < levels.ListNonNull;
            }
            else if (row < 0)
            {
                return "the first repetition level is not 0";
            }
            else if (rowHasNoElements)
            {
                return $"an empty list continues a row at entry {i}";
            }
            rowHasNoElements = d < levels.ElementExists;
            if (rowHasNoElements)
            {
                // Null or empty list: exactly one entry, no element.
                if (r != 0) return $"a null or empty list marker inside a list at entry {i}";
                continue;
            }
            if (d == levels.LeafPresent)
            {
                if (v >= values) return "fewer values than defined levels";
                _valueIndex[e++] = v++;
            }
            else
            {
                _valueIndex[e++] = -1;
            }
        }
        if (row + 1 != rows) return $"{row + 1} rows in the levels, the row group has {rows}";
        if (v != values) return $"{values} values for {v} defined levels";
        _offsets[rows] = e;
        return null;
    }

    private static void Grow<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, array.Length * 2)];
    }
}

/// <summary>Definition-level thresholds of one leaf: list non-null, element exists, leaf value present.</summary>
/// <param name="ListNonNull">Definition level from which the row's list (or scalar's parents) is non-null.</param>
/// <param name="ElementExists">Level from which the entry is a list element (equal to <paramref name="ListNonNull"/> for scalars).</param>
/// <param name="LeafPresent">The leaf's max definition level: the value is non-null.</param>
/// <param name="MaxRepetition">The leaf's max repetition level (0 or 1).</param>
internal readonly record struct LeafLevels(int ListNonNull, int ElementExists, int LeafPresent, int MaxRepetition);
