using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

public class QualityFilterTests
{
    private static readonly ChatTurn[] ThreeTurns = [new("u0", "a0"), new("u1", "a1"), new("u2", "a2")];

    private static (TextPrepareResult R, SamplePreparer P) Run(TextSample s, QualityFilterOptions? o = null)
    {
        var p = new SamplePreparer(VlmTokenizer.LoadDefault(), new SamplePreparerOptions { QualityFilter = o ?? new QualityFilterOptions() });
        return (p.Prepare(s, []), p);
    }

    [Fact]
    public void NullEntries_AndMissingLists_Pass()
    {
        var (r, p) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [null, null, null], FormattingRatings = null },
            new QualityFilterOptions { RelevanceMinRating = 5, FormattingMinRating = 5 });
        Assert.True(r.Ok);
        Assert.Equal(3, p.Counters.TurnsKept);
        Assert.Equal(0, p.Counters.TurnsDroppedRelevance);
    }

    [Fact]
    public void LowRatings_DropTurns_WithFirstFailingReason()
    {
        var opts = new QualityFilterOptions { RelevanceMinRating = 3, ImageCorrespondenceMinRating = 3, VisualDependencyMinRating = 3, FormattingMinRating = 3 };
        var (r, p) = Run(new TextSample
        {
            Texts = ThreeTurns,
            RelevanceRatings = [5, 2, 5],
            ImageCorrespondenceRatings = [5, 1, 5],
            VisualDependencyRatings = [5, 5, 5],
            FormattingRatings = [5, 5, 1],
        }, opts);
        Assert.True(r.Ok);
        Assert.Equal(1, p.Counters.TurnsKept);
        Assert.Equal(1, p.Counters.TurnsDroppedRelevance); // turn 1: relevance checked first
        Assert.Equal(0, p.Counters.TurnsDroppedImageCorrespondence);
        Assert.Equal(1, p.Counters.TurnsDroppedFormatting);
        var tok = VlmTokenizer.LoadDefault();
        Assert.Equal(tok.EncodeToIds("<|im_start|>user\nu0<|im_end|>\n<|im_start|>assistant\na0<|im_end|>\n"), p.Current.InputIds.ToArray());
        var f = new QualityFilter(opts);
        var s = new TextSample { Texts = ThreeTurns, VisualDependencyRatings = [1, 3, 2] };
        Assert.Equal([TurnVerdict.DropVisualDependency, TurnVerdict.Keep, TurnVerdict.DropVisualDependency], Enumerable.Range(0, 3).Select(i => f.Evaluate(s, i)));
        s = new TextSample { Texts = ThreeTurns, ImageCorrespondenceRatings = [2, 3, 4] };
        Assert.Equal(TurnVerdict.DropImageCorrespondence, f.Evaluate(s, 0));
    }

    [Fact]
    public void RatingAtMinimum_IsKept_DefaultMinimumIsOne()
    {
        var (r, p) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [1, 0, 1] });
        Assert.True(r.Ok);
        Assert.Equal(2, p.Counters.TurnsKept);
        Assert.Equal(1, p.Counters.TurnsDroppedRelevance);
        Assert.Equal(1, new QualityFilterOptions().FormattingMinRating);
    }

    /// <summary>nanoVLM: the IndexError of a short list is caught and logged, the turn is appended, and the lists after
    /// the short one are never checked for that turn.</summary>
    [Fact]
    public void ShortRatingList_KeepsTurn_AndSkipsLaterChecks_Counted()
    {
        var opts = new QualityFilterOptions { RelevanceMinRating = 3, FormattingMinRating = 3 };
        var (r, p) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [5], FormattingRatings = [5, 1, 1] }, opts);
        Assert.True(r.Ok);
        Assert.Equal(3, p.Counters.TurnsKept);
        Assert.Equal(2, p.Counters.TurnsKeptRatingListTooShort);
        Assert.Equal(0, p.Counters.TurnsDroppedFormatting);
        // A short list checked after a failing one does not rescue the turn.
        (r, p) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [5, 1, 5], FormattingRatings = [5] }, opts);
        Assert.Equal(2, p.Counters.TurnsKept);
        Assert.Equal(1, p.Counters.TurnsDroppedRelevance);
        Assert.Equal(1, p.Counters.TurnsKeptRatingListTooShort);
        Assert.Equal(TurnVerdict.KeepRatingListTooShort, new QualityFilter(opts).Evaluate(new TextSample { Texts = ThreeTurns, RelevanceRatings = [] }, 0));
    }

    [Fact]
    public void AllTurnsDropped_DropsSample_WithReason()
    {
        var (r, p) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [0, 0, 0] });
        Assert.False(r.Ok);
        Assert.Equal(TextDropReason.AllTurnsFilteredByRating, r.DropReason);
        Assert.Equal(0, r.Length);
        Assert.Equal(1, p.Counters.SamplesDroppedAllTurnsFiltered);
        Assert.Equal(3, p.Counters.TurnsDroppedRelevance);
        Assert.Equal(0, p.Counters.SamplesKept);
        Assert.Equal(0, p.Current.Length);
    }

    [Fact]
    public void NoTexts_DropsSample_WithReason()
    {
        var (r, p) = Run(new TextSample { Texts = [] });
        Assert.Equal(TextDropReason.NoTexts, r.DropReason);
        (r, _) = Run(new TextSample { Texts = null });
        Assert.Equal(TextDropReason.NoTexts, r.DropReason);
        Assert.Equal(1, p.Counters.SamplesDroppedNoTexts);
    }

    [Fact]
    public void Counters_Add_SumsEveryField()
    {
        var (_, p1) = Run(new TextSample { Texts = ThreeTurns, RelevanceRatings = [0, 5] });
        var (_, p2) = Run(new TextSample { Texts = [new ChatTurn("<|image|>", "x")] });
        var sum = new TextCounters();
        sum.Add(p1.Counters);
        sum.Add(p2.Counters);
        Assert.Equal(2, sum.Samples);
        Assert.Equal(2, sum.SamplesKept);
        Assert.Equal(4, sum.Turns);
        Assert.Equal(3, sum.TurnsKept);
        Assert.Equal(1, sum.TurnsDroppedRelevance);
        Assert.Equal(1, sum.TurnsKeptRatingListTooShort);
        Assert.Equal(1, sum.ImageTokensRemoved);
    }

    [Fact]
    public void JsonNames_AreNanoVlms()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new QualityFilterOptions { VisualDependencyMinRating = 4 });
        Assert.Contains("\"relevance_min_rating\":1", json);
        Assert.Contains("\"image_correspondence_min_rating\":1", json);
        Assert.Contains("\"visual_dependency_min_rating\":4", json);
        Assert.Contains("\"formatting_min_rating\":1", json);
    }
}
