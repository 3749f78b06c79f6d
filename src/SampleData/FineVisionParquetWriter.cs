using Parquet;
using Parquet.Schema;
using NanoVlm.Loader.Text;

namespace NanoVlm.SampleData;

/// <summary>
/// Writes <see cref="SyntheticSample"/> rows as a FineVision-layout parquet file (Parquet.Net): <c>images</c>
/// list&lt;struct{bytes, path}&gt;, <c>texts</c> list&lt;struct{user, assistant}&gt;, <c>source</c>, and each rating
/// list followed by its int64 <c>*_min</c> column; one row group per <see cref="WriteRowGroup"/> call.
/// </summary>
internal sealed class FineVisionParquetWriter : IDisposable
{
    private static readonly (string List, string Min, Func<TextSample, IReadOnlyList<long?>?> Get)[] RatingColumns =
    [
        ("relevance_ratings", "relevance_min", t => t.RelevanceRatings),
        ("image_correspondence_ratings", "image_correspondence_min", t => t.ImageCorrespondenceRatings),
        ("visual_dependency_ratings", "visual_dependency_min", t => t.VisualDependencyRatings),
        ("formatting_ratings", "formatting_min", t => t.FormattingRatings),
    ];

    private readonly FileStream _file;
    private readonly ParquetWriter _writer;
    private readonly DataField _bytes = new DataField<byte[]>("bytes");
    private readonly DataField _path = new DataField<string>("path");
    private readonly DataField _user = new DataField<string>("user");
    private readonly DataField _assistant = new DataField<string>("assistant");
    private readonly DataField _source = new DataField<string>("source");
    private readonly ListField _images;
    private readonly ListField _texts;
    private readonly (ListField List, DataField Element, DataField Min)[] _ratings;

    public FineVisionParquetWriter(string path)
    {
        _images = new ListField("images", new StructField("element", _bytes, _path));
        _texts = new ListField("texts", new StructField("element", _user, _assistant));
        _ratings = RatingColumns.Select(r =>
        {
            var element = new DataField<long?>("element");
            return (new ListField(r.List, element), (DataField)element, (DataField)new DataField<long?>(r.Min));
        }).ToArray();
        var fields = new List<Field> { _images, _texts, _source };
        foreach (var (list, _, min) in _ratings)
        {
            fields.Add(list);
            fields.Add(min);
        }
        _file = File.Create(path);
        _writer = ParquetWriter.CreateAsync(new ParquetSchema(fields), _file).GetAwaiter().GetResult();
    }

    /// <summary>Writes one row group.</summary>
    public void WriteRowGroup(IReadOnlyList<SyntheticSample> rows)
    {
        using var group = _writer.CreateRowGroup();
        WriteList(group, _images, _bytes, rows, s => s.Images, i => (ReadOnlyMemory<byte>?)i.Encoded);
        WriteList(group, _images, _path, rows, s => s.Images,
            i => (ReadOnlyMemory<char>?)null);
        WriteList(group, _texts, _user, rows, s => s.Text.Texts, t => (ReadOnlyMemory<char>?)t.User);
        WriteList(group, _texts, _assistant, rows, s => s.Text.Texts, t => (ReadOnlyMemory<char>?)t.Assistant);
        var sources = rows.Select(r => (ReadOnlyMemory<char>?)r.Source.AsMemory()).ToArray();
        WriteScalar(group, _source, sources);
        for (var i = 0; i < _ratings.Length; i++)
        {
            var (list, element, min) = _ratings[i];
            var get = RatingColumns[i].Get;
            WriteList(group, list, element, rows, s => get(s.Text), v => v);
            WriteScalar(group, min, rows.Select(r => get(r.Text) is { } l && l.Any(x => x.HasValue)
                ? l.Where(x => x.HasValue).Min() : null).ToArray());
        }
        group.CompleteValidate();
    }

    // Values, definition and repetition levels of a leaf under one list level, from the schema's own level numbers.
    private static void WriteList<TItem, TValue>(ParquetRowGroupWriter group, ListField list, DataField leaf,
        IReadOnlyList<SyntheticSample> rows, Func<SyntheticSample, IReadOnlyList<TItem>?> items, Func<TItem, TValue?> value)
        where TValue : struct
    {
        int nullList = list.MaxDefinitionLevel - 2, emptyList = list.MaxDefinitionLevel - 1;
        int present = leaf.MaxDefinitionLevel, nullLeaf = leaf.MaxDefinitionLevel - 1;
        var values = new List<TValue>();
        var def = new List<int>();
        var rep = new List<int>();
        foreach (var row in rows)
        {
            var list_ = items(row);
            if (list_ is null || list_.Count == 0)
            {
                def.Add(list_ is null ? nullList : emptyList);
                rep.Add(0);
                continue;
            }
            for (var k = 0; k < list_.Count; k++)
            {
                rep.Add(k == 0 ? 0 : list.MaxRepetitionLevel);
                if (value(list_[k]) is { } v)
                {
                    values.Add(v);
                    def.Add(present);
                }
                else
                {
                    def.Add(nullLeaf);
                }
            }
        }
        group.WriteAllPartsAsync<TValue>(leaf, values.ToArray(), def.ToArray(), rep.ToArray(), default).GetAwaiter().GetResult();
    }

    private static void WriteScalar<TValue>(ParquetRowGroupWriter group, DataField field, TValue?[] values) where TValue : struct =>
        group.WriteAsync<TValue>(field, values).GetAwaiter().GetResult();

    public void Dispose()
    {
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _file.Dispose();
    }
}
