namespace NanoVlm.Loader.Text;

/// <summary>The text side of one sample record (FineVision / nanoVLM layout).</summary>
/// <remarks>A <see cref="Sources.IRowSource"/> may reuse one instance (and its lists) for every row of an
/// enumeration: it is then valid until the enumerator moves on, like the rest of its <see cref="Sources.SourceRow"/>.</remarks>
public sealed class TextSample
{
    private IReadOnlyList<ChatTurn>? _texts;
    private IReadOnlyList<long?>? _relevance, _imageCorrespondence, _visualDependency, _formatting;

    /// <summary>The turns (<c>texts</c>); null or empty drops the sample.</summary>
    public IReadOnlyList<ChatTurn>? Texts { get => _texts; init => _texts = value; }

    /// <summary>Per-turn <c>relevance_ratings</c> (entries may be null), or null when absent.</summary>
    public IReadOnlyList<long?>? RelevanceRatings { get => _relevance; init => _relevance = value; }

    /// <summary>Per-turn <c>image_correspondence_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? ImageCorrespondenceRatings { get => _imageCorrespondence; init => _imageCorrespondence = value; }

    /// <summary>Per-turn <c>visual_dependency_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? VisualDependencyRatings { get => _visualDependency; init => _visualDependency = value; }

    /// <summary>Per-turn <c>formatting_ratings</c>, or null when absent.</summary>
    public IReadOnlyList<long?>? FormattingRatings { get => _formatting; init => _formatting = value; }

    /// <summary>Refills a reused instance (a reader's or an owned copy's).</summary>
    internal void Set(IReadOnlyList<ChatTurn>? texts, IReadOnlyList<long?>? relevance, IReadOnlyList<long?>? imageCorrespondence,
        IReadOnlyList<long?>? visualDependency, IReadOnlyList<long?>? formatting)
    {
        _texts = texts;
        _relevance = relevance;
        _imageCorrespondence = imageCorrespondence;
        _visualDependency = visualDependency;
        _formatting = formatting;
    }
}
