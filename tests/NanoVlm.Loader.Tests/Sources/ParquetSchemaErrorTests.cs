using System.Text.Json.Serialization;
using NanoVlm.Loader.Sources;
using Parquet.Serialization;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>Files whose schema is not the FineVision layout fail on open with the column named.</summary>
public sealed class ParquetSchemaErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-parquet-schema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public sealed class TextsAsString
    {
        [JsonPropertyName("texts")] public string? Texts { get; set; }
    }

    public sealed class NoTexts
    {
        [JsonPropertyName("images")] public List<byte[]>? Images { get; set; }
        [JsonPropertyName("conversations")] public string? Conversations { get; set; }
    }

    public sealed class Turn
    {
        [JsonPropertyName("user")] public string? User { get; set; }
        [JsonPropertyName("answer")] public string? Answer { get; set; }
    }

    public sealed class TurnsWithoutAssistant
    {
        [JsonPropertyName("texts")] public List<Turn>? Texts { get; set; }
    }

    public sealed class GoodTurn
    {
        [JsonPropertyName("user")] public string? User { get; set; }
        [JsonPropertyName("assistant")] public string? Assistant { get; set; }
    }

    public sealed class RatingsAsStrings
    {
        [JsonPropertyName("texts")] public List<GoodTurn>? Texts { get; set; }
        [JsonPropertyName("relevance_ratings")] public List<string>? Relevance { get; set; }
    }

    public sealed class SourceAsNumber
    {
        [JsonPropertyName("texts")] public List<GoodTurn>? Texts { get; set; }
        [JsonPropertyName("source")] public int Source { get; set; }
    }

    private DataSourceException Fails<T>(T row)
    {
        var path = Path.Combine(_dir, typeof(T).Name + ".parquet");
        ParquetSerializer.SerializeAsync(new[] { row }, path).GetAwaiter().GetResult();
        using var source = new ParquetRowSource([path]);
        var e = Assert.Throws<DataSourceException>(() => source.ReadShard(0).ToList());
        Assert.Equal(path, e.Shard);
        return e;
    }

    [Fact]
    public void TextsAsString_IsAWrongType()
    {
        var e = Fails(new TextsAsString { Texts = "hello" });
        Assert.Equal("texts", e.Column);
        Assert.Contains("wrong type", e.Message);
        Assert.Contains("found string", e.Message);
    }

    [Fact]
    public void MissingTexts_ListsTheColumnsThatExist()
    {
        var e = Fails(new NoTexts { Images = [[1]], Conversations = "x" });
        Assert.Equal("texts", e.Column);
        Assert.Contains("missing", e.Message);
        Assert.Contains("conversations", e.Message);
    }

    [Fact]
    public void MissingAssistantField_NamesTheStructField()
    {
        var e = Fails(new TurnsWithoutAssistant { Texts = [new Turn { User = "q", Answer = "a" }] });
        Assert.Equal("texts.assistant", e.Column);
        Assert.Contains("answer", e.Message);
    }

    [Fact]
    public void RatingsOfStrings_AreAWrongType()
    {
        var e = Fails(new RatingsAsStrings { Texts = [], Relevance = ["high"] });
        Assert.Equal("relevance_ratings", e.Column);
        Assert.Contains("list<int64>", e.Message);
    }

    [Fact]
    public void SourceAsNumber_IsAWrongType()
    {
        var e = Fails(new SourceAsNumber { Texts = [], Source = 3 });
        Assert.Equal("source", e.Column);
    }
}
