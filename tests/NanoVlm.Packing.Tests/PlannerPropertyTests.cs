using CsCheck;
using NanoVlm.Packing;
using NanoVlm.SampleData;

namespace NanoVlm.Packing.Tests;

/// <summary>Invariants of both planners on random windows (CsCheck shrinks any failure to a small case).</summary>
public sealed class PlannerPropertyTests
{
    internal static readonly Gen<(PackingOptions Options, SampleShape[] Shapes)> Windows =
        from seqLen in Gen.Int[1, 400]
        from cap in Gen.Int[0, 8]
        from delta in Gen.Int[0, 6]
        from seed in Gen.Int[0, 1000]
        from shuffle in Gen.Bool
        from n in Gen.Int[0, 250]
        from lengths in Gen.OneOf(Gen.Int[1, seqLen], Gen.Int[Math.Max(1, seqLen * 2 / 3), seqLen],
            Gen.Const(Math.Max(1, seqLen / 4))).Array[n]
        from images in Gen.Int[0, cap].Array[n]
        select (new PackingOptions
        {
            SequenceLength = seqLen, MaxImagesPerPack = cap, Delta = delta, Seed = seed, Shuffle = shuffle,
        }, lengths.Select((l, i) => new SampleShape(l, images[i], 1000 + i)).ToArray());

    [Theory]
    [InlineData(PlannerKind.BestFit)]
    [InlineData(PlannerKind.NanovlmCompat)]
    public void Plan_PutsEveryItemInExactlyOnePack_WithinLimits(PlannerKind kind) =>
        Windows.Sample(w =>
        {
            var groups = PackingAssert.Groups(PackPlanner.Create(kind, w.Options), w.Shapes);
            PackingAssert.Valid(groups, w.Shapes, w.Options);
        }, iter: 400);

    [Theory]
    [InlineData(PlannerKind.BestFit)]
    [InlineData(PlannerKind.NanovlmCompat)]
    public void Plan_IsDeterministicForASeed_AndShuffleOnlyPermutesPacks(PlannerKind kind) =>
        Windows.Sample(w =>
        {
            var shuffled = w.Options with { Shuffle = true };
            var a = PackingAssert.Groups(PackPlanner.Create(kind, shuffled), w.Shapes);
            var b = PackingAssert.Groups(PackPlanner.Create(kind, shuffled), w.Shapes);
            Assert.Equal(a, b);
            var plain = PackingAssert.Groups(PackPlanner.Create(kind, w.Options with { Shuffle = false }), w.Shapes);
            Assert.Equal(Canonical(plain), Canonical(a));
        }, iter: 300);

    [Theory]
    [InlineData(PlannerKind.BestFit)]
    [InlineData(PlannerKind.NanovlmCompat)]
    public void ReusedPlanner_PlansLikeAFreshOne(PlannerKind kind)
    {
        // Scratch (and best fit's lazily cleared index) is reused across windows of growing and shrinking size.
        var options = new PackingOptions { Shuffle = false };
        var reused = PackPlanner.Create(kind, options);
        var rng = new Random(17);
        for (var round = 0; round < 60; round++)
        {
            var shapes = SyntheticShapes.FineVisionLike(rng.Next(0, 400), seed: round);
            Assert.Equal(PackingAssert.Groups(PackPlanner.Create(kind, options), shapes), PackingAssert.Groups(reused, shapes));
        }
    }

    [Fact]
    public void BestFit_NeverUsesMorePacksThanCompat() =>
        Windows.Sample(w =>
        {
            var bfd = PackingAssert.Groups(new BestFitPlanner(w.Options), w.Shapes).Length;
            var compat = PackingAssert.Groups(new NanovlmCompatPlanner(w.Options), w.Shapes).Length;
            Assert.True(bfd <= compat, $"bfd {bfd} packs > compat {compat}");
        }, iter: 1000);

    [Fact]
    public void BestFit_PacksWithinLowerBound_OnFineVisionLikeWindow()
    {
        var shapes = SyntheticShapes.FineVisionLike(4000, seed: 3);
        var groups = PackingAssert.Groups(new BestFitPlanner(new PackingOptions()), shapes);
        long tokens = shapes.Sum(s => (long)s.Length);
        var lowerBound = (tokens + 4095) / 4096;
        Assert.InRange(groups.Length, lowerBound, lowerBound + lowerBound / 50 + 1);
    }

    [Fact]
    public void Planners_ReuseScratch_AllocatingNothingAfterWarmUp()
    {
        var shapes = SyntheticShapes.FineVisionLike(5000, seed: 1);
        var members = new int[shapes.Length];
        var starts = new int[shapes.Length + 1];
        foreach (var kind in new[] { PlannerKind.BestFit, PlannerKind.NanovlmCompat })
        {
            var planner = PackPlanner.Create(kind, new PackingOptions());
            planner.Plan(shapes, members, starts);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 3; i++) planner.Plan(shapes, members, starts);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    private static string[] Canonical(int[][] groups) =>
        groups.Select(g => string.Join(',', g)).Order(StringComparer.Ordinal).ToArray();
}
