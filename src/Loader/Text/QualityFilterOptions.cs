using System.Text.Json.Serialization;

namespace NanoVlm.Loader.Text;

/// <summary>nanoVLM's per-turn quality thresholds (JSON names as in nanoVLM's config). Defaults: 1.</summary>
public sealed record QualityFilterOptions
{
    /// <summary>Minimum <c>relevance_ratings</c> entry.</summary>
    [JsonPropertyName("relevance_min_rating")]
    public int RelevanceMinRating { get; init; } = 1;

    /// <summary>Minimum <c>image_correspondence_ratings</c> entry.</summary>
    [JsonPropertyName("image_correspondence_min_rating")]
    public int ImageCorrespondenceMinRating { get; init; } = 1;

    /// <summary>Minimum <c>visual_dependency_ratings</c> entry.</summary>
    [JsonPropertyName("visual_dependency_min_rating")]
    public int VisualDependencyMinRating { get; init; } = 1;

    /// <summary>Minimum <c>formatting_ratings</c> entry.</summary>
    [JsonPropertyName("formatting_min_rating")]
    public int FormattingMinRating { get; init; } = 1;
}
