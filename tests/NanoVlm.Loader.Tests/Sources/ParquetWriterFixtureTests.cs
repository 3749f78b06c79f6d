using System.Text.Json;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.Testing;
using ParquetSharp;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>
/// The reader over FineVision-layout files from three independent writers (tools/parquet_writers: DuckDB, arrow-rs
/// through parquet-wasm, Parquet.Net), each with dictionary-encoded and plain columns, 100-row row groups, nulls in
/// every place the schema allows one and different column orders: every file gives the rows of rows.json.
/// </summary>
public sealed class ParquetWriterFixtureTests
{
    private static readonly string[] FileNames =
    [
        "duckdb_dictionary.parquet", "duckdb_plain.parquet",
        "arrowrs_dictionary.parquet", "arrowrs_plain.parquet",
        "parquetnet_dictionary.parquet", "parquetnet_plain.parquet",
    ];

    public static TheoryData<string> Files => new(FileNames);

    internal static readonly Lazy<JsonElement[]> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Fixtures.Path("parquet", "rows.json"))).RootElement.EnumerateArray().ToArray());

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryWriter_GivesTheRowsOfRowsJson(string file)
    {
        var path = Fixtures.Path("parquet", file);
        using var source = new ParquetRowSource([path]);
        var rows = 0;
        foreach (var row in source.ReadShard(0))
        {
            AssertRow(Expected.Value[rows], row, rows);
            rows++;
        }
        Assert.Equal(Expected.Value.Length, rows);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void StartRow_ResumesInsideAndAcrossRowGroups(string file)
    {
        using var source = new ParquetRowSource([Fixtures.Path("parquet", file)]);
        foreach (var start in new[] { 1, 99, 100, 150, 229, 230 })
        {
            var rows = source.ReadShard(0, start).Select(RowAssert.Copy).ToList();
            Assert.Equal(Expected.Value.Length - start, rows.Count);
            if (rows.Count > 0)
            {
                Assert.Equal(start, rows[0].Position.Row);
                Assert.Equal(start / 100, rows[0].Position.RowGroup);
            }
        }
    }

    /// <summary>The fixtures hold what they claim: three 100/100/30 row groups, dictionary pages in the dictionary
    /// files (on the binary image column where the writer can: DuckDB and arrow-rs) and none in the plain ones,
    /// nulls at every level, and more than one column order.</summary>
    [Fact]
    public void Fixtures_CoverDictionaryAndPlainEncodings_NullsAndColumnOrders()
    {
        var orders = new HashSet<string>();
        foreach (var file in FileNames)
        {
            using var reader = new ParquetFileReader(Fixtures.Path("parquet", file));
            var meta = reader.FileMetaData;
            Assert.Equal([100L, 100, 30], Enumerable.Range(0, meta.NumRowGroups).Select(g => reader.RowGroup(g).MetaData.NumRows));
            var schema = meta.Schema;
            orders.Add(string.Join(",", schema.GroupNode.Fields.Select(f => f.Name)));
            var dictionaryColumns = new HashSet<string>();
            for (var g = 0; g < meta.NumRowGroups; g++)
            {
                var rowGroup = reader.RowGroup(g).MetaData;
                for (var c = 0; c < meta.NumColumns; c++)
                {
                    using var chunk = rowGroup.GetColumnChunkMetaData(c);
                    if (chunk.Encodings.Any(e => e is Encoding.PlainDictionary or Encoding.RleDictionary))
                        dictionaryColumns.Add(schema.Column(c).Path.ToDotString());
                }
            }
            if (file.Contains("plain")) Assert.Empty(dictionaryColumns);
            else if (file.StartsWith("parquetnet")) Assert.Contains("source", dictionaryColumns);
            else Assert.Contains(dictionaryColumns, c => c.StartsWith("images.") && c.EndsWith(".bytes"));
        }
        Assert.Equal(3, orders.Count);

        var rows = Expected.Value;
        Assert.Contains(rows, r => r.GetProperty("images").ValueKind == JsonValueKind.Null);
        Assert.Contains(rows, r => r.GetProperty("images") is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() == 0);
        Assert.Contains(rows, r => Items(r, "images").Any(i => i.ValueKind == JsonValueKind.Null));
        Assert.Contains(rows, r => Items(r, "images").Any(i => i.ValueKind != JsonValueKind.Null && i.GetProperty("bytes").ValueKind == JsonValueKind.Null));
        Assert.Contains(rows, r => r.GetProperty("texts").ValueKind == JsonValueKind.Null);
        Assert.Contains(rows, r => Items(r, "texts").Any(i => i.ValueKind == JsonValueKind.Null));
        Assert.Contains(rows, r => Items(r, "texts").Any(i => i.ValueKind != JsonValueKind.Null && i.GetProperty("user").ValueKind == JsonValueKind.Null));
        Assert.Contains(rows, r => Items(r, "texts").Any(i => i.ValueKind != JsonValueKind.Null && i.GetProperty("assistant").ValueKind == JsonValueKind.Null));
        Assert.Contains(rows, r => r.GetProperty("source").ValueKind == JsonValueKind.Null);
        Assert.Contains(rows, r => r.GetProperty("relevance_ratings").ValueKind == JsonValueKind.Null);
        Assert.Contains(rows, r => Items(r, "relevance_ratings").Any(i => i.ValueKind == JsonValueKind.Null));
    }

    private static IEnumerable<JsonElement> Items(JsonElement row, string column) =>
        row.GetProperty(column) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : [];

    private static string? Str(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetString();

    internal static void AssertRow(JsonElement expected, SourceRow row, int index)
    {
        Assert.Equal(index, row.Position.Row);
        Assert.Equal(index / 100, row.Position.RowGroup);
        List<ChatTurn>? turns = expected.GetProperty("texts").ValueKind == JsonValueKind.Null ? null
            : [.. Items(expected, "texts").Select(t => t.ValueKind == JsonValueKind.Null
                ? default(ChatTurn) : new ChatTurn(Str(t.GetProperty("user")), Str(t.GetProperty("assistant"))))];
        Assert.Equal(turns, row.Text.Texts?.ToList());
        // A null image (or null bytes) is handed on as an empty one, so the image count stays that of the row.
        var images = Items(expected, "images").Select(i => i.ValueKind == JsonValueKind.Null
            || i.GetProperty("bytes").ValueKind == JsonValueKind.Null ? [] : i.GetProperty("bytes").GetBytesFromBase64()).ToList();
        Assert.Equal(images.Count, row.Images.Count);
        for (var k = 0; k < images.Count; k++)
            Assert.True(images[k].AsSpan().SequenceEqual(row.Images[k].Span), $"row {index}: image {k} differs");
        Assert.Equal(Str(expected.GetProperty("source")), row.Source);
        Assert.Equal(Ratings(expected, "relevance"), row.Text.RelevanceRatings?.ToList());
        Assert.Equal(Ratings(expected, "image_correspondence"), row.Text.ImageCorrespondenceRatings?.ToList());
        Assert.Equal(Ratings(expected, "visual_dependency"), row.Text.VisualDependencyRatings?.ToList());
        Assert.Equal(Ratings(expected, "formatting"), row.Text.FormattingRatings?.ToList());
    }

    private static List<long?>? Ratings(JsonElement row, string name) =>
        row.GetProperty($"{name}_ratings").ValueKind == JsonValueKind.Null ? null
            : [.. Items(row, $"{name}_ratings").Select(e => e.ValueKind == JsonValueKind.Null ? (long?)null : e.GetInt64())];
}
