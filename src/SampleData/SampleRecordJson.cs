using System.Text.Json;

namespace NanoVlm.SampleData;

/// <summary>Writes the JSON record of a sample (texts, ratings, source, optional image paths) as used by the
/// JSON Lines and WebDataset formats.</summary>
internal static class SampleRecordJson
{
    public static void Write(Utf8JsonWriter json, SyntheticSample sample, IReadOnlyList<string>? imagePaths)
    {
        json.WriteStartObject();
        if (imagePaths is not null)
        {
            json.WriteStartArray("images");
            foreach (var p in imagePaths) json.WriteStringValue(p);
            json.WriteEndArray();
        }
        json.WriteStartArray("texts");
        foreach (var t in sample.Text.Texts ?? [])
        {
            json.WriteStartObject();
            json.WriteString("user", t.User.Span);
            json.WriteString("assistant", t.Assistant.Span);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("source", sample.Source);
        Ratings(json, "relevance_ratings", sample.Text.RelevanceRatings);
        Ratings(json, "image_correspondence_ratings", sample.Text.ImageCorrespondenceRatings);
        Ratings(json, "visual_dependency_ratings", sample.Text.VisualDependencyRatings);
        Ratings(json, "formatting_ratings", sample.Text.FormattingRatings);
        json.WriteEndObject();
    }

    private static void Ratings(Utf8JsonWriter json, string name, IReadOnlyList<long?>? ratings)
    {
        if (ratings is null)
        {
            json.WriteNull(name);
            return;
        }
        json.WriteStartArray(name);
        foreach (var r in ratings)
        {
            if (r is { } v) json.WriteNumberValue(v);
            else json.WriteNullValue();
        }
        json.WriteEndArray();
    }

    /// <summary>The record as UTF-8 bytes.</summary>
    public static byte[] ToUtf8(SyntheticSample sample, IReadOnlyList<string>? imagePaths)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer)) Write(json, sample, imagePaths);
        return buffer.WrittenSpan.ToArray();
    }

}
