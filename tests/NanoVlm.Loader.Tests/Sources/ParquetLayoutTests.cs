using System.Text.Json.Serialization;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using Parquet.Serialization;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>
/// Parquet files written independently of our writer (Parquet.Net's class serializer) with FineVision's column and
/// struct-field order variations, absent rating columns and null ratings.
/// </summary>
public sealed class ParquetLayoutTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-parquet-layout-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public sealed class Image
    {
        [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
        [JsonPropertyName("path")] public string? Path { get; set; }
    }

    // Field order user, assistant.
    public sealed class TurnUserFirst
    {
        [JsonPropertyName("user")] public string? User { get; set; }
        [JsonPropertyName("assistant")] public string? Assistant { get; set; }
    }

    // Field order assistant, user (as in some FineVision configs), plus an extra field to ignore.
    public sealed class TurnAssistantFirst
    {
        [JsonPropertyName("assistant")] public string? Assistant { get; set; }
        [JsonPropertyName("extra")] public string? Extra { get; set; }
        [JsonPropertyName("user")] public string? User { get; set; }
    }

    // images, texts, source, ratings (each followed by its _min).
    public sealed class CanonicalRow
    {
        [JsonPropertyName("images")] public List<Image>? Images { get; set; }
        [JsonPropertyName("texts")] public List<TurnUserFirst>? Texts { get; set; }
        [JsonPropertyName("source")] public string? Source { get; set; }
        [JsonPropertyName("relevance_ratings")] public List<long?>? Relevance { get; set; }
        [JsonPropertyName("relevance_min")] public long? RelevanceMin { get; set; }
        [JsonPropertyName("image_correspondence_ratings")] public List<long?>? Correspondence { get; set; }
        [JsonPropertyName("image_correspondence_min")] public long? CorrespondenceMin { get; set; }
        [JsonPropertyName("visual_dependency_ratings")] public List<long?>? Dependency { get; set; }
        [JsonPropertyName("visual_dependency_min")] public long? DependencyMin { get; set; }
        [JsonPropertyName("formatting_ratings")] public List<long?>? Formatting { get; set; }
        [JsonPropertyName("formatting_min")] public long? FormattingMin { get; set; }
    }

    // Reversed column order, assistant-first turns, two rating columns absent.
    public sealed class PermutedRow
    {
        [JsonPropertyName("formatting_min")] public long? FormattingMin { get; set; }
        [JsonPropertyName("formatting_ratings")] public List<long?>? Formatting { get; set; }
        [JsonPropertyName("source")] public string? Source { get; set; }
        [JsonPropertyName("texts")] public List<TurnAssistantFirst>? Texts { get; set; }
        [JsonPropertyName("relevance_ratings")] public List<long?>? Relevance { get; set; }
        [JsonPropertyName("images")] public List<Image>? Images { get; set; }
    }

    // Ratings stored as int32 (some writers narrow them): read as int64.
    public sealed class Int32RatingsRow
    {
        [JsonPropertyName("texts")] public List<TurnUserFirst>? Texts { get; set; }
        [JsonPropertyName("relevance_ratings")] public List<int?>? Relevance { get; set; }
    }

    // No images, no source, no ratings at all.
    public sealed class TextOnlyRow
    {
        [JsonPropertyName("texts")] public List<TurnUserFirst>? Texts { get; set; }
    }

    private static readonly byte[][] Blobs = [[1, 2, 3], [9, 8, 7, 6], [42], []];

    private static List<(List<(string? U, string? A)>? Turns, List<byte[]>? Images, string? Source, List<long?>? Relevance,
        List<long?>? Formatting)> Cases() =>
    [
        ([("How many?", "3"), ("Colour?", "red")], [Blobs[0]], "a", [5, null], [0, 4]),
        ([("Q", "A")], [Blobs[1], Blobs[2]], null, null, [null]),
        ([], [], "c", [], []),
        (null, null, "d", [1], null),
        ([(null, "only assistant"), ("only user", null)], [Blobs[3]], "e", [2, 3], [4, 5]),
    ];

    private string Write<T>(string name, IEnumerable<T> rows)
    {
        var path = Path.Combine(_dir, name);
        ParquetSerializer.SerializeAsync(rows, path).GetAwaiter().GetResult();
        return path;
    }

    private static List<SourceRow> Read(string path)
    {
        using var source = new ParquetRowSource([path]);
        return RowAssert.ReadAll(source);
    }

    private static void AssertCase(
        (List<(string? U, string? A)>? Turns, List<byte[]>? Images, string? Source, List<long?>? Relevance, List<long?>? Formatting) c,
        SourceRow row, bool hasSource, bool hasRelevance, bool hasFormatting, bool hasOthers)
    {
        Assert.Equal(c.Turns?.Select(t => new ChatTurn(t.U, t.A)).ToList(), row.Text.Texts?.ToList());
        var images = c.Images ?? [];
        Assert.Equal(images.Count, row.Images.Count);
        for (var i = 0; i < images.Count; i++) Assert.Equal(images[i], row.Images[i].ToArray());
        Assert.Equal(hasSource ? c.Source : null, row.Source);
        Assert.Equal(hasRelevance ? c.Relevance : null, row.Text.RelevanceRatings?.ToList());
        Assert.Equal(hasFormatting ? c.Formatting : null, row.Text.FormattingRatings?.ToList());
        if (hasOthers)
        {
            Assert.Equal(c.Relevance, row.Text.ImageCorrespondenceRatings?.ToList());
            Assert.Equal(c.Formatting, row.Text.VisualDependencyRatings?.ToList());
        }
        else
        {
            Assert.Null(row.Text.ImageCorrespondenceRatings);
            Assert.Null(row.Text.VisualDependencyRatings);
        }
    }

    private static List<Image>? Images(List<byte[]>? images) => images?.Select(b => new Image { Bytes = b, Path = "x.jpg" }).ToList();

    [Fact]
    public void CanonicalOrder_WithNullsAndEmptyLists()
    {
        var cases = Cases();
        var path = Write("canonical.parquet", cases.Select(c => new CanonicalRow
        {
            Images = Images(c.Images),
            Texts = c.Turns?.Select(t => new TurnUserFirst { User = t.U, Assistant = t.A }).ToList(),
            Source = c.Source,
            Relevance = c.Relevance, RelevanceMin = c.Relevance?.Min(),
            Correspondence = c.Relevance, Dependency = c.Formatting, Formatting = c.Formatting,
        }));
        var rows = Read(path);
        Assert.Equal(cases.Count, rows.Count);
        for (var i = 0; i < cases.Count; i++) AssertCase(cases[i], rows[i], true, true, true, hasOthers: true);
    }

    [Fact]
    public void PermutedColumnsAndStructFields_AbsentRatingColumns()
    {
        var cases = Cases();
        var path = Write("permuted.parquet", cases.Select(c => new PermutedRow
        {
            Images = Images(c.Images),
            Texts = c.Turns?.Select(t => new TurnAssistantFirst { User = t.U, Assistant = t.A, Extra = "ignored" }).ToList(),
            Source = c.Source, Relevance = c.Relevance, Formatting = c.Formatting,
        }));
        var rows = Read(path);
        Assert.Equal(cases.Count, rows.Count);
        for (var i = 0; i < cases.Count; i++) AssertCase(cases[i], rows[i], true, true, true, hasOthers: false);
    }

    [Fact]
    public void TextOnlyFile_HasNoImagesSourceOrRatings()
    {
        var cases = Cases();
        var path = Write("text-only.parquet", cases.Select(c => new TextOnlyRow
        {
            Texts = c.Turns?.Select(t => new TurnUserFirst { User = t.U, Assistant = t.A }).ToList(),
        }));
        var rows = Read(path);
        for (var i = 0; i < cases.Count; i++)
        {
            Assert.Empty(rows[i].Images);
            AssertCase(cases[i] with { Images = null }, rows[i], false, false, false, hasOthers: false);
        }
    }

    [Fact]
    public void Int32Ratings_AreWidened()
    {
        var cases = Cases();
        var path = Write("int32.parquet", cases.Select(c => new Int32RatingsRow
        {
            Texts = c.Turns?.Select(t => new TurnUserFirst { User = t.U, Assistant = t.A }).ToList(),
            Relevance = c.Relevance?.Select(r => (int?)r).ToList(),
        }));
        var rows = Read(path);
        Assert.Equal(cases.Select(c => c.Relevance), rows.Select(r => r.Text.RelevanceRatings?.ToList()));
    }
}
