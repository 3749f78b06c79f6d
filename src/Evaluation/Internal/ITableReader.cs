namespace NanoVlm.Evaluation.Internal;

/// <summary>
/// Rows of a columnar file as column name → value: strings, integers, booleans, doubles, byte arrays, lists
/// (<see cref="IReadOnlyList{T}"/> of values) and structs (<see cref="IReadOnlyDictionary{TKey, TValue}"/>), or null.
/// The one seam between the evaluation readers and a Parquet library.
/// </summary>
internal interface ITableReader
{
    /// <summary>The file's column names (top level).</summary>
    IReadOnlyList<string> Columns(string path);

    /// <summary>The rows, streamed one row group at a time.</summary>
    IEnumerable<IReadOnlyDictionary<string, object?>> Rows(string path);
}
