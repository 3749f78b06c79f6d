namespace NanoVlm.Loader.Text;

/// <summary>One question/answer turn of a sample's <c>texts</c> list.</summary>
/// <param name="User">The user text (null is treated as empty).</param>
/// <param name="Assistant">The assistant text (null is treated as empty).</param>
public readonly record struct ChatTurn(string? User, string? Assistant);

/// <summary>The text side of one sample record (FineVision / nanoVLM layout).</summary>
public sealed class TextSample
{
    /// <summary>The turns (<c>texts</c>); null or empty drops the sample.</summary>
    public IReadOnlyList<ChatTurn>? Texts { get; init; }

    /// <summary>Per-turn <c>relevance_ratings</c> (entries may be null), or null when absent.</summary>
    public IReadOnlyList<long?>? RelevanceRatings { get; init; }

    /// <summary>Per-turn <c>image_correspondence_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? ImageCorrespondenceRatings { get; init; }

    /// <summary>Per-turn <c>visual_dependency_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? VisualDependencyRatings { get; init; }

    /// <summary>Per-turn <c>formatting_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? FormattingRatings { get; init; }
}
