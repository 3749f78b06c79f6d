namespace NanoVlm.Loader.Text;

/// <summary>Why a sample was dropped by text preparation.</summary>
public enum TextDropReason
{
    /// <summary>Not dropped.</summary>
    None,
    /// <summary><c>texts</c> is null or empty.</summary>
    NoTexts,
    /// <summary>Every turn was dropped by the quality filter.</summary>
    AllTurnsFilteredByRating,
}

/// <summary>Counts of everything text preparation dropped, kept with a warning, or changed. Not thread-safe: one per
/// worker, merged with <see cref="Add"/>.</summary>
public sealed class TextCounters
{
    /// <summary>Samples seen.</summary>
    public long Samples { get; internal set; }
    /// <summary>Samples emitted.</summary>
    public long SamplesKept { get; internal set; }
    /// <summary>Samples dropped: no texts.</summary>
    public long SamplesDroppedNoTexts { get; internal set; }
    /// <summary>Samples dropped: every turn filtered by ratings.</summary>
    public long SamplesDroppedAllTurnsFiltered { get; internal set; }
    /// <summary>Turns seen.</summary>
    public long Turns { get; internal set; }
    /// <summary>Turns kept.</summary>
    public long TurnsKept { get; internal set; }
    /// <summary>Turns dropped for relevance.</summary>
    public long TurnsDroppedRelevance { get; internal set; }
    /// <summary>Turns dropped for image correspondence.</summary>
    public long TurnsDroppedImageCorrespondence { get; internal set; }
    /// <summary>Turns dropped for visual dependency.</summary>
    public long TurnsDroppedVisualDependency { get; internal set; }
    /// <summary>Turns dropped for formatting.</summary>
    public long TurnsDroppedFormatting { get; internal set; }
    /// <summary>Turns kept although a rating list was shorter than <c>texts</c> (nanoVLM logs these).</summary>
    public long TurnsKeptRatingListTooShort { get; internal set; }
    /// <summary>Literal <c>&lt;|image|&gt;</c> occurrences removed from user/assistant text.</summary>
    public long ImageTokensRemoved { get; internal set; }
    /// <summary>Messages that had at least one literal <c>&lt;|image|&gt;</c> removed (nanoVLM logs one warning each).</summary>
    public long MessagesWithImageTokensRemoved { get; internal set; }

    /// <summary>Adds another counter set to this one.</summary>
    public void Add(TextCounters other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Samples += other.Samples;
        SamplesKept += other.SamplesKept;
        SamplesDroppedNoTexts += other.SamplesDroppedNoTexts;
        SamplesDroppedAllTurnsFiltered += other.SamplesDroppedAllTurnsFiltered;
        Turns += other.Turns;
        TurnsKept += other.TurnsKept;
        TurnsDroppedRelevance += other.TurnsDroppedRelevance;
        TurnsDroppedImageCorrespondence += other.TurnsDroppedImageCorrespondence;
        TurnsDroppedVisualDependency += other.TurnsDroppedVisualDependency;
        TurnsDroppedFormatting += other.TurnsDroppedFormatting;
        TurnsKeptRatingListTooShort += other.TurnsKeptRatingListTooShort;
        ImageTokensRemoved += other.ImageTokensRemoved;
        MessagesWithImageTokensRemoved += other.MessagesWithImageTokensRemoved;
    }
}
