namespace NanoVlm.Loader.Text;

/// <summary>The verdict on one turn.</summary>
internal enum TurnVerdict
{
    /// <summary>Every present, non-null rating is at or above its minimum (or the list is absent / the entry null).</summary>
    Keep,
    /// <summary>Kept because a rating list is shorter than <c>texts</c>: nanoVLM's <c>try/except</c> logs the
    /// IndexError and keeps the turn without checking the remaining lists; we do the same and count it.</summary>
    KeepRatingListTooShort,
    /// <summary>Dropped: relevance below its minimum.</summary>
    DropRelevance,
    /// <summary>Dropped: image correspondence below its minimum.</summary>
    DropImageCorrespondence,
    /// <summary>Dropped: visual dependency below its minimum.</summary>
    DropVisualDependency,
    /// <summary>Dropped: formatting below its minimum.</summary>
    DropFormatting,
}

/// <summary>
/// nanoVLM's per-turn quality filter. The lists are checked in nanoVLM's order (relevance, image correspondence,
/// visual dependency, formatting); the first rating below its minimum drops the turn and names the reason. A missing
/// list or a null entry passes. A list shorter than <c>texts</c> ends the checks for that turn and keeps it
/// (<see cref="TurnVerdict.KeepRatingListTooShort"/>), exactly as nanoVLM's exception handler does.
/// </summary>
internal sealed class QualityFilter(QualityFilterOptions options)
{
    /// <summary>The thresholds.</summary>
    public QualityFilterOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Judges turn <paramref name="turn"/> of <paramref name="sample"/>.</summary>
    public TurnVerdict Evaluate(TextSample sample, int turn)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var v = Check(sample.RelevanceRatings, turn, Options.RelevanceMinRating, TurnVerdict.DropRelevance);
        if (v != TurnVerdict.Keep) return v;
        v = Check(sample.ImageCorrespondenceRatings, turn, Options.ImageCorrespondenceMinRating, TurnVerdict.DropImageCorrespondence);
        if (v != TurnVerdict.Keep) return v;
        v = Check(sample.VisualDependencyRatings, turn, Options.VisualDependencyMinRating, TurnVerdict.DropVisualDependency);
        if (v != TurnVerdict.Keep) return v;
        return Check(sample.FormattingRatings, turn, Options.FormattingMinRating, TurnVerdict.DropFormatting);
    }

    private static TurnVerdict Check(IReadOnlyList<long?>? ratings, int turn, int min, TurnVerdict drop)
    {
        if (ratings is null) return TurnVerdict.Keep;
        if (turn >= ratings.Count) return TurnVerdict.KeepRatingListTooShort;
        long? r = ratings[turn];
        return r is { } value && value < min ? drop : TurnVerdict.Keep;
    }
}
