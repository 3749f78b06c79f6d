using System.Collections;

namespace NanoVlm.Evaluation;

/// <summary>
/// One row of a benchmark, by column name as in the lmms-lab data sets (<c>question</c>, <c>answer</c>,
/// <c>options</c>, <c>category</c>, …), the way lmms-eval's task functions see a document. Values are strings,
/// integers (any integral type), lists of strings, or null; image columns are not needed here.
/// </summary>
public sealed class EvalDocument
{
    private readonly IReadOnlyDictionary<string, object?> _columns;

    /// <summary>A document over <paramref name="columns"/>.</summary>
    /// <param name="columns">Column name → value.</param>
    /// <param name="source">Where it came from, for error messages (e.g. "mmstar.parquet row 12").</param>
    public EvalDocument(IReadOnlyDictionary<string, object?> columns, string source = "document")
    {
        _columns = columns;
        Source = source;
    }

    /// <summary>Where the document came from, as given.</summary>
    public string Source { get; }

    /// <summary>Whether the column exists (it may still be null).</summary>
    public bool Has(string column) => _columns.ContainsKey(column);

    /// <summary>Whether the column exists and is not null.</summary>
    public bool HasValue(string column) => _columns.TryGetValue(column, out var v) && v is not null;

    /// <summary>The column's value as stored, or null when missing.</summary>
    public object? Raw(string column) => _columns.GetValueOrDefault(column);

    /// <summary>A string column.</summary>
    /// <exception cref="InvalidDataException">Missing, null or not a string (names the source and column).</exception>
    public string GetString(string column) => Get(column) switch
    {
        string s => s,
        var v => throw Bad(column, "a string", v),
    };

    /// <summary>A string column, or null when it is missing or null.</summary>
    /// <exception cref="InvalidDataException">Present but not a string.</exception>
    public string? GetStringOrNull(string column) =>
        _columns.TryGetValue(column, out var v) && v is not null ? v as string ?? throw Bad(column, "a string", v) : null;

    /// <summary>An integer column.</summary>
    /// <exception cref="InvalidDataException">Missing, null or not an integer.</exception>
    public long GetInt64(string column) => Get(column) switch
    {
        long l => l,
        int i => i,
        short s => s,
        byte b => b,
        sbyte b => b,
        ushort u => u,
        uint u => u,
        var v => throw Bad(column, "an integer", v),
    };

    /// <summary>A column holding a list of strings, or one string (read as a one-element list), as lmms-eval accepts both.</summary>
    /// <exception cref="InvalidDataException">Missing, null, or neither.</exception>
    public IReadOnlyList<string> GetStrings(string column) => Get(column) switch
    {
        string s => [s],
        IEnumerable<string> list => list.ToList(),
        IEnumerable items when items.Cast<object?>().All(x => x is string) => items.Cast<string>().ToList(),
        var v => throw Bad(column, "a string or a list of strings", v),
    };

    private object Get(string column)
    {
        if (!_columns.TryGetValue(column, out var v)) throw new InvalidDataException($"{Source}: column '{column}' is missing");
        return v ?? throw new InvalidDataException($"{Source}: column '{column}' is null");
    }

    private InvalidDataException Bad(string column, string expected, object? value) =>
        new($"{Source}: column '{column}' should be {expected}, but is {value?.GetType().Name ?? "null"}");
}
