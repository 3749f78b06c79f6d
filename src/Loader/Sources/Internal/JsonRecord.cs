using System.Text.Json;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// Parses one JSON sample record (a JSON Lines line or a WebDataset <c>.json</c> member):
/// <c>{"images": ["rel/path.jpg"], "texts": [{"user": .., "assistant": ..}], "source": .., "relevance_ratings": [..], ..}</c>.
/// </summary>
internal static class JsonRecord
{
    private static readonly string[] RatingNames = FineVisionParquetBinding.RatingColumns;

    /// <summary>The parsed record.</summary>
    internal readonly record struct Parsed(TextSample Text, string? Source, string[] ImagePaths);

    /// <summary>Parses <paramref name="utf8"/>; any problem becomes a <see cref="DataSourceException"/> at
    /// (<paramref name="shard"/>, <paramref name="row"/>) naming the field; <paramref name="where"/> says which
    /// line or member it was.</summary>
    public static Parsed Parse(ReadOnlySpan<byte> utf8, string shard, long row, string where)
    {
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { AllowTrailingCommas = false, MaxDepth = 16 });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new DataSourceException(shard, $"{where}: invalid JSON ({e.Message})", row: row, inner: e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new DataSourceException(shard, $"{where}: the record is a JSON {root.ValueKind}, expected an object", row: row);

            IReadOnlyList<ChatTurn>? turns = null;
            if (!root.TryGetProperty("texts", out var texts))
                throw new DataSourceException(shard, $"{where}: required field is missing", row: row, column: "texts");
            if (texts.ValueKind == JsonValueKind.Array)
            {
                var list = new ChatTurn[texts.GetArrayLength()];
                var k = 0;
                foreach (var turn in texts.EnumerateArray())
                {
                    if (turn.ValueKind != JsonValueKind.Object)
                        throw new DataSourceException(shard, $"{where}: a turn is a JSON {turn.ValueKind}, expected an object",
                            row: row, column: $"texts[{k}]");
                    list[k] = new ChatTurn(Str(turn, "user", shard, row, where, $"texts[{k}].user"),
                        Str(turn, "assistant", shard, row, where, $"texts[{k}].assistant"));
                    k++;
                }
                turns = list;
            }
            else if (texts.ValueKind != JsonValueKind.Null)
            {
                throw new DataSourceException(shard, $"{where}: wrong type: expected a list of {{user, assistant}}, found {texts.ValueKind}",
                    row: row, column: "texts");
            }

            var ratings = new long?[]?[RatingNames.Length];
            for (var i = 0; i < RatingNames.Length; i++)
                ratings[i] = Ratings(root, RatingNames[i], shard, row, where);

            string[] images = [];
            if (root.TryGetProperty("images", out var im) && im.ValueKind != JsonValueKind.Null)
            {
                if (im.ValueKind != JsonValueKind.Array)
                    throw new DataSourceException(shard, $"{where}: wrong type: expected a list of paths, found {im.ValueKind}",
                        row: row, column: "images");
                images = new string[im.GetArrayLength()];
                var k = 0;
                foreach (var p in im.EnumerateArray())
                {
                    images[k] = p.ValueKind == JsonValueKind.String ? p.GetString()! : throw new DataSourceException(shard,
                        $"{where}: wrong type: expected a path string, found {p.ValueKind}", row: row, column: $"images[{k}]");
                    k++;
                }
            }

            return new Parsed(new TextSample
            {
                Texts = turns,
                RelevanceRatings = ratings[0],
                ImageCorrespondenceRatings = ratings[1],
                VisualDependencyRatings = ratings[2],
                FormattingRatings = ratings[3],
            }, Str(root, "source", shard, row, where, "source"), images);
        }
    }

    private static string? Str(JsonElement obj, string name, string shard, long row, string where, string column)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw new DataSourceException(shard, $"{where}: wrong type: expected a string, found {v.ValueKind}", row: row, column: column);
    }

    private static long?[]? Ratings(JsonElement root, string name, string shard, long row, string where)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array)
            throw new DataSourceException(shard, $"{where}: wrong type: expected a list of integers, found {v.ValueKind}",
                row: row, column: name);
        var list = new long?[v.GetArrayLength()];
        var k = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Null) list[k] = null;
            else if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var x)) list[k] = x;
            else
                throw new DataSourceException(shard, $"{where}: wrong type: expected an integer or null, found {e}",
                    row: row, column: $"{name}[{k}]");
            k++;
        }
        return list;
    }
}
