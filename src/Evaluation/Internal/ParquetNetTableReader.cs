using System.Collections;
using Parquet;
using Parquet.Serialization;

namespace NanoVlm.Evaluation.Internal;

/// <summary><see cref="ITableReader"/> over Parquet.Net's untyped deserializer, one row group at a time.</summary>
internal sealed class ParquetNetTableReader : ITableReader
{
    public IReadOnlyList<string> Columns(string path) => WithReader(path, r => r.Schema.Fields.Select(f => f.Name).ToList());

    private static T WithReader<T>(string path, Func<ParquetReader, T> use)
    {
        using var stream = File.OpenRead(path);
        var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
        try
        {
            return use(reader);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); // ParquetReader is only IAsyncDisposable
        }
    }

    public IEnumerable<IReadOnlyDictionary<string, object?>> Rows(string path)
    {
        var (groups, columns) = WithReader(path, r => (r.RowGroupCount, r.Schema.Fields.Select(f => f.Name).ToList()));
        for (int g = 0; g < groups; g++)
        {
            IList<Dictionary<string, object>> data;
            using (var stream = File.OpenRead(path))
                data = ParquetSerializer.DeserializeUntypedAsync(stream, null, g).GetAwaiter().GetResult().Data;
            foreach (var row in data)
            {
                // The deserializer leaves null structs out of the row: every schema column is present, null or not.
                var values = new Dictionary<string, object?>(columns.Count);
                foreach (var column in columns) values[column] = row.TryGetValue(column, out var v) ? Normalize(v) : null;
                yield return values;
            }
        }
    }

    // Parquet.Net 6 hands out strings and binaries as ReadOnlyMemory, structs as dictionaries and lists as IList:
    // give them the shapes the interface promises.
    private static object? Normalize(object? value) => value switch
    {
        null => null,
        string or byte[] => value,
        ReadOnlyMemory<char> chars => chars.ToString(),
        ReadOnlyMemory<byte> bytes => bytes.ToArray(),
        IDictionary<string, object> d => d.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value)),
        IList list => list.Cast<object?>().Select(Normalize).ToList(),
        _ => value,
    };
}
