#:package Parquet.Net
// Writes tests/fixtures/parquet/rows.json (made by generate.mjs) with Parquet.Net's own writer, the third independent
// writer of the reader fixtures: parquetnet_dictionary.parquet and parquetnet_plain.parquet, 100-row row groups, in
// yet another column order (source and the rating columns first, images last). Levels are written explicitly so that
// every null of rows.json (list, element, struct field) is kept.
// Run: cd tools/parquet_writers && dotnet run parquetnet_writer.cs
using System.Text.Json;
using Parquet;
using Parquet.Schema;

var dir = Path.GetFullPath(Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", "../../tests/fixtures/parquet"));
var rows = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "rows.json"))).RootElement.EnumerateArray().ToArray();
string[] ratingNames = ["relevance", "image_correspondence", "visual_dependency", "formatting"];

foreach (var dictionary in new[] { true, false })
{
    var bytes = new DataField<byte[]>("bytes");
    var path = new DataField<string>("path");
    var user = new DataField<string>("user");
    var assistant = new DataField<string>("assistant");
    var source = new DataField<string>("source");
    var images = new ListField("images", new StructField("element", bytes, path));
    var texts = new ListField("texts", new StructField("element", user, assistant));
    var fields = new List<Field> { source };
    var ratings = new List<(ListField List, DataField Element, DataField Min, string Name)>();
    foreach (var n in ratingNames)
    {
        var element = new DataField<long?>("element");
        var list = new ListField($"{n}_ratings", element);
        var min = new DataField<long?>($"{n}_min");
        ratings.Add((list, element, min, n));
        fields.Add(list);
        fields.Add(min);
    }
    fields.Add(texts);
    fields.Add(images);

    var file = Path.Combine(dir, dictionary ? "parquetnet_dictionary.parquet" : "parquetnet_plain.parquet");
    await using var stream = File.Create(file);
    // Parquet.Net 6.1 dictionary-encodes only non-repeated string columns, and only when hinted: of this layout, that
    // is `source`; its list leaves (texts, images) are always written plain.
    var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
    options.ColumnEncodingHints["source"] = dictionary ? EncodingHint.Dictionary : EncodingHint.Default;
    await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, options);
    for (var at = 0; at < rows.Length; at += 100)
    {
        var group = rows[at..Math.Min(rows.Length, at + 100)];
        using var g = writer.CreateRowGroup();
        await g.WriteAsync<ReadOnlyMemory<char>>(source, group.Select(r => Str(r.GetProperty("source"))).ToArray());
        foreach (var (list, element, min, n) in ratings)
        {
            await WriteList(g, list, element, group, $"{n}_ratings", null, e => e.ValueKind == JsonValueKind.Null ? null : (long?)e.GetInt64());
            await g.WriteAsync<long>(min, group.Select(r => r.GetProperty($"{n}_min") is { ValueKind: JsonValueKind.Number } m ? m.GetInt64() : (long?)null).ToArray());
        }
        await WriteList(g, texts, user, group, "texts", "user", Str);
        await WriteList(g, texts, assistant, group, "texts", "assistant", Str);
        await WriteList(g, images, bytes, group, "images", "bytes", e => e.ValueKind == JsonValueKind.Null ? null : (ReadOnlyMemory<byte>?)e.GetBytesFromBase64());
        await WriteList(g, images, path, group, "images", "path", Str);
        g.CompleteValidate();
    }
    Console.WriteLine($"{Path.GetFileName(file)} written");
}

// The cast matters: a bare null would become an empty ReadOnlyMemory<char> (through its conversion from char[]), not a null.
static ReadOnlyMemory<char>? Str(JsonElement e) => e.ValueKind == JsonValueKind.Null ? (ReadOnlyMemory<char>?)null : e.GetString()!.AsMemory();

// One leaf under one list level. Definition levels: list null, list empty, element null (struct elements only;
// a plain element's null is the leaf's), leaf null, leaf present.
static async Task WriteList<T>(ParquetRowGroupWriter g, ListField list, DataField leaf, JsonElement[] rows, string column,
    string? member, Func<JsonElement, T?> value) where T : struct
{
    int nullList = list.MaxDefinitionLevel - 2, emptyList = list.MaxDefinitionLevel - 1;
    int present = leaf.MaxDefinitionLevel, nullLeaf = present - 1, nullElement = list.MaxDefinitionLevel;
    var values = new List<T>();
    var def = new List<int>();
    var rep = new List<int>();
    foreach (var row in rows)
    {
        var items = row.GetProperty(column);
        if (items.ValueKind == JsonValueKind.Null || items.GetArrayLength() == 0)
        {
            def.Add(items.ValueKind == JsonValueKind.Null ? nullList : emptyList);
            rep.Add(0);
            continue;
        }
        var k = 0;
        foreach (var item in items.EnumerateArray())
        {
            rep.Add(k++ == 0 ? 0 : list.MaxRepetitionLevel);
            if (member is not null && item.ValueKind == JsonValueKind.Null)
            {
                def.Add(nullElement);
                continue;
            }
            if (value(member is null ? item : item.GetProperty(member)) is { } v)
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
    await g.WriteAllPartsAsync<T>(leaf, values.ToArray(), def.ToArray(), rep.ToArray(), default);
}
