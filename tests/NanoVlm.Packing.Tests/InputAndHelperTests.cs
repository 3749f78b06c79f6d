using NanoVlm.Packing;
using NanoVlm.SampleData;

namespace NanoVlm.Packing.Tests;

public sealed class InputAndHelperTests
{
    public static TheoryData<PlannerKind, int, int, string> BadSamples() => new()
    {
        { PlannerKind.BestFit, 0, 0, "not positive" },
        { PlannerKind.NanovlmCompat, -3, 0, "not positive" },
        { PlannerKind.BestFit, 101, 0, "exceeds the sequence length" },
        { PlannerKind.NanovlmCompat, 50, -1, "negative" },
        { PlannerKind.BestFit, 50, 4, "exceed the cap" },
    };

    [Theory]
    [MemberData(nameof(BadSamples))]
    public void Plan_RejectsBadSamples_NamingThem(PlannerKind kind, int length, int images, string reason)
    {
        var planner = PackPlanner.Create(kind, new PackingOptions { SequenceLength = 100, MaxImagesPerPack = 3 });
        SampleShape[] shapes = [new(10, 1, 70), new(100, 3, 71), new(length, images, 72)];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => planner.Plan(shapes, new int[3], new int[4]));
        Assert.Contains("Sample 2 (id 72)", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Plan_RejectsShortOutputSpans()
    {
        var planner = new BestFitPlanner(new PackingOptions());
        var shapes = SyntheticShapes.FineVisionLike(10);
        Assert.Throws<ArgumentException>(() => planner.Plan(shapes, new int[9], new int[11]));
        Assert.Throws<ArgumentException>(() => planner.Plan(shapes, new int[10], new int[10]));
        Assert.Equal(0, planner.Plan([], [], new int[1]));
    }

    [Fact]
    public void Options_AreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BestFitPlanner(new PackingOptions { SequenceLength = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NanovlmCompatPlanner(new PackingOptions { Delta = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamingPacker(new StreamingPackerOptions { MinEmitFill = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamingPacker(new StreamingPackerOptions { WindowTokens = 0 }));
    }

    [Fact]
    public void PythonShuffle_MatchesCPython()
    {
        // python3 -c "import random; random.seed(3); x=list(range(10)); random.shuffle(x); print(x)"
        var rng = new NanoVlm.Packing.Internal.PythonRandom(3);
        int[] x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        rng.Shuffle(x);
        Assert.Equal([1, 5, 6, 0, 9, 4, 7, 2, 8, 3], x);
        // random.seed(0); random.getrandbits(32) == 3626764237
        Assert.Equal(3626764237u, new NanoVlm.Packing.Internal.PythonRandom(0).NextUInt32());
    }

    [Fact]
    public void SyntheticShapes_AreSeededAndFineVisionLike()
    {
        var a = SyntheticShapes.FineVisionLike(20_000, seed: 1);
        Assert.Equal(a, SyntheticShapes.FineVisionLike(20_000, seed: 1));
        Assert.NotEqual(a, SyntheticShapes.FineVisionLike(20_000, seed: 2));
        Assert.All(a, s => Assert.InRange(s.Length, 9, 4096));
        Assert.All(a, s => Assert.InRange(s.Images, 0, 4));
        Assert.Equal(Enumerable.Range(0, a.Length).Select(i => (long)i), a.Select(s => s.Id));
        Assert.InRange(a.Count(s => s.Images == 1) / (double)a.Length, 0.75, 0.85);
        Assert.InRange(a.Average(s => s.Length), 700, 1400);
    }

    [Fact]
    public void Stats_FromPlan_CountsTokensImagesAndBounds()
    {
        SampleShape[] shapes = [new(60, 2, 0), new(50, 1, 1), new(30, 0, 2), new(10, 4, 3)];
        var members = new int[4];
        var starts = new int[5];
        var packs = new BestFitPlanner(new PackingOptions { SequenceLength = 100, MaxImagesPerPack = 5, Shuffle = false })
            .Plan(shapes, members, starts);
        var stats = PackingStats.FromPlan(shapes, members, starts, packs, 100);
        // 150 tokens: lower bound 2; 7 images with cap 5 also need 2 packs; best fit reaches it.
        Assert.Equal((4L, 2L, 150L, 7L, 2L), (stats.Items, stats.Packs, stats.Tokens, stats.Images, stats.LowerBound));
        Assert.Equal(0.75, stats.Fill, 12);
        Assert.Equal(0.25, stats.PaddingRatio, 12);
        Assert.Equal(3.5, stats.ImagesPerPack, 12);
        Assert.Equal(1.0, stats.PacksOverLowerBound, 12);
        Assert.True(stats.MaxImagesInPack <= 5);
    }
}
