namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// One leaf column of a row group reassembled into rows: the per-row element ranges of a list column (or one element
/// per row for a top-level scalar), with nulls, from parquet's flat values and definition/repetition levels.
/// </summary>
/// <typeparam name="T">The raw value type (<see cref="ReadOnlyMemory{T}"/> of bytes or chars, long, int).</typeparam>
internal sealed class LeveledColumn<T> where T : struct
{
    internal LeveledColumn(T?[] elements, int[] offsets, bool[] rowIsNull)
    {
        Elements = elements;
        Offsets = offsets;
        RowIsNull = rowIsNull;
    }

    /// <summary>All elements of all rows in order; null where the leaf value (or its struct/element) is null.</summary>
    public T?[] Elements { get; }

    /// <summary>Row r's elements are <c>Elements[Offsets[r]..Offsets[r + 1]]</c>.</summary>
    public int[] Offsets { get; }

    /// <summary>True where the row's list (or scalar) itself is null.</summary>
    public bool[] RowIsNull { get; }

    /// <summary>Number of elements of row <paramref name="row"/>.</summary>
    public int Count(int row) => Offsets[row + 1] - Offsets[row];

    /// <summary>Element <paramref name="k"/> of row <paramref name="row"/>.</summary>
    public T? At(int row, int k) => Elements[Offsets[row] + k];

    /// <summary>The same rows with every non-null element converted by <paramref name="convert"/>.</summary>
    public LeveledColumn<TOut> Map<TOut>(Func<T, TOut> convert) where TOut : struct =>
        new LeveledColumn<TOut>(Array.ConvertAll(Elements, e => e is { } x ? convert(x) : (TOut?)null), Offsets, RowIsNull);

    /// <summary>
    /// Reassembles rows (Dremel record assembly for at most one level of repetition).
    /// </summary>
    /// <param name="values">Non-null leaf values in order (as parquet's raw reader returns them).</param>
    /// <param name="definition">Definition levels, or null when the leaf is required all the way up.</param>
    /// <param name="repetition">Repetition levels, or null for a non-repeated column.</param>
    /// <param name="entries">Number of level entries (the chunk's num_values).</param>
    /// <param name="rows">Rows in the row group.</param>
    /// <param name="levels">The definition thresholds of the list, its element and the leaf.</param>
    /// <param name="error">Why the levels are inconsistent, when they are.</param>
    /// <returns>The column, or null with <paramref name="error"/> set when the levels are inconsistent.</returns>
    public static LeveledColumn<T>? Assemble(T[] values, int[]? definition, int[]? repetition, int entries, int rows,
        in LeafLevels levels, out string? error)
    {
        error = null;
        var elements = new T?[entries];
        var offsets = new int[rows + 1];
        var rowIsNull = new bool[rows];
        int row = -1, v = 0, e = 0;
        var rowHasNoElements = false;
        for (var i = 0; i < entries; i++)
        {
            var r = repetition is null ? 0 : repetition[i];
            var d = definition is null ? levels.LeafPresent : definition[i];
            if (d < 0 || d > levels.LeafPresent || r < 0 || r > levels.MaxRepetition)
            {
                error = $"level out of range at entry {i} (definition {d}, repetition {r})";
                return null;
            }
            if (r == 0)
            {
                if (++row >= rows)
                {
                    error = $"more rows in the levels than the row group's {rows}";
                    return null;
                }
                offsets[row] = e;
                rowIsNull[row] = d < levels.ListNonNull;
            }
            else if (row < 0)
            {
                error = "the first repetition level is not 0";
                return null;
            }
            else if (rowHasNoElements)
            {
                error = $"an empty list continues a row at entry {i}";
                return null;
            }
            rowHasNoElements = d < levels.ElementExists;
            if (rowHasNoElements)
            {
                // Null or empty list: exactly one entry, no element.
                if (r != 0)
                {
                    error = $"a null or empty list marker inside a list at entry {i}";
                    return null;
                }
                continue;
            }
            if (d == levels.LeafPresent)
            {
                if (v >= values.Length)
                {
                    error = "fewer values than defined levels";
                    return null;
                }
                elements[e++] = values[v++];
            }
            else
            {
                elements[e++] = null;
            }
        }
        if (row + 1 != rows)
        {
            error = $"{row + 1} rows in the levels, the row group has {rows}";
            return null;
        }
        offsets[rows] = e;
        return new LeveledColumn<T>(elements, offsets, rowIsNull);
    }
}

/// <summary>Definition-level thresholds of one leaf: list non-null, element exists, leaf value present.</summary>
/// <param name="ListNonNull">Definition level from which the row's list (or scalar's parents) is non-null.</param>
/// <param name="ElementExists">Level from which the entry is a list element (equal to <paramref name="ListNonNull"/> for scalars).</param>
/// <param name="LeafPresent">The leaf's max definition level: the value is non-null.</param>
/// <param name="MaxRepetition">The leaf's max repetition level (0 or 1).</param>
internal readonly record struct LeafLevels(int ListNonNull, int ElementExists, int LeafPresent, int MaxRepetition);
