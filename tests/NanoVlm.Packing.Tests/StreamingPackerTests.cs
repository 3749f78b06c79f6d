using CsCheck;
using NanoVlm.Packing;
using NanoVlm.SampleData;

namespace NanoVlm.Packing.Tests;

public sealed class StreamingPackerTests
{
    private static List<SampleShape[]> Run(StreamingPacker packer, IEnumerable<SampleShape> shapes)
    {
        var packs = new List<SampleShape[]>();
        foreach (var s in shapes)
        {
            packer.Add(s);
            while (packer.TryTakePack(out var pack)) packs.Add(pack.ToArray());
        }
        packer.Flush();
        while (packer.TryTakePack(out var pack)) packs.Add(pack.ToArray());
        return packs;
    }

    public static TheoryData<ParityCase> StreamCases()
    {
        var data = new TheoryData<ParityCase>();
        foreach (var c in ParityCase.Load("stream_parity.json")) data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(StreamCases))]
    public void NanovlmMode_EqualsConstantLengthDatasetGroups(ParityCase c)
    {
        var packer = new StreamingPacker(StreamingPackerOptions.Nanovlm with
        {
            Packing = c.Options(), WindowTokens = c.Window,
        });
        var groups = Run(packer, c.Shapes()).Select(p => p.Select(s => (int)s.Id).ToArray()).ToArray();
        Assert.Equal(c.Groups, groups);
    }

    /// <summary>
    /// Save the state at a point of the stream (packs still ready, samples carried), restore it into a new packer with
    /// re-numbered ids, feed both the rest: the same packs in the same order, for both planners and their shuffles.
    /// </summary>
    [Theory]
    [InlineData(PlannerKind.BestFit, 137)]
    [InlineData(PlannerKind.BestFit, 1000)]
    [InlineData(PlannerKind.NanovlmCompat, 137)]
    [InlineData(PlannerKind.NanovlmCompat, 1999)]
    public void SaveAndRestore_ContinuesWithTheSamePacks(PlannerKind planner, int cut)
    {
        var shapes = SyntheticShapes.FineVisionLike(3000, seed: 11);
        var options = new StreamingPackerOptions
        {
            Planner = planner,
            MinEmitFill = planner == PlannerKind.BestFit ? 0.99 : 0,
            Packing = new PackingOptions { Seed = 5 },
        };
        var original = new StreamingPacker(options);
        var before = new List<SampleShape[]>();
        for (var i = 0; i < cut; i++)
        {
            original.Add(shapes[i]);
            if (original.TryTakePack(out var pack)) before.Add(pack.ToArray()); // leave some planned packs untaken
        }
        StreamingPackerState state = original.SaveState();
        Assert.True(state.Buffered.Length > 0);
        Assert.Equal(original.ReadyPacks, state.Ready.Length);
        // The copy-free views hold what the state holds.
        Assert.Equal(state.Buffered, original.Buffered.ToArray());
        for (var p = 0; p < state.Ready.Length; p++) Assert.Equal(state.Ready[p], original.ReadyPack(p).ToArray());
        Assert.Equal(state.PlannerDraws, original.PlannerDraws);
        Assert.Throws<ArgumentOutOfRangeException>(() => original.ReadyPack(original.ReadyPacks));

        const long Offset = 1_000_000; // a restarted loader numbers its samples afresh
        static SampleShape Renumber(SampleShape s) => s with { Id = s.Id + Offset };
        var restored = StreamingPacker.Restore(options, state with
        {
            Buffered = [.. state.Buffered.Select(Renumber)],
            Ready = [.. state.Ready.Select(p => p.Select(Renumber).ToArray())],
        });
        Assert.Equal(state.Ready.Length, restored.ReadyPacks);
        Assert.Equal(state.Buffered.Length, restored.Stats.BufferedSamples);

        var rest = shapes[cut..];
        var expected = Run(original, rest).Select(p => p.Select(s => s.Id).ToArray()).ToList();
        var actual = Run(restored, rest.Select(Renumber))
            .Select(p => p.Select(s => s.Id - Offset).ToArray()).ToList();
        Assert.True(expected.Count > 10);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Restore_RejectsSamplesTheOptionsWouldSkip()
    {
        var options = new StreamingPackerOptions();
        var state = new StreamingPackerState([new SampleShape(options.Packing.SequenceLength + 1, 0, 1)], [], 0);
        Assert.Throws<ArgumentException>(() => StreamingPacker.Restore(options, state));
    }

    [Fact]
    public void BestFit_EmitsEveryValidSampleOnce_WithinLimits_AndBoundedBuffer() =>
        PlannerPropertyTests.Windows.Sample(w =>
        {
            var options = new StreamingPackerOptions { Packing = w.Options, WindowTokens = w.Options.SequenceLength * 3 };
            var packer = new StreamingPacker(options);
            var packs = new List<SampleShape[]>();
            foreach (var s in w.Shapes)
            {
                Assert.True(packer.Add(s));
                // Planning happens at the window; at most MaxCarryFraction (1.0) of it may stay behind.
                Assert.True(packer.Stats.BufferedTokens <= options.WindowTokens);
                while (packer.TryTakePack(out var pack)) packs.Add(pack.ToArray());
            }
            packer.Flush();
            while (packer.TryTakePack(out var pack)) packs.Add(pack.ToArray());

            Assert.Equal(0, packer.Stats.BufferedSamples);
            Assert.Equal(w.Shapes.Select(s => s.Id).Order(), packs.SelectMany(p => p).Select(s => s.Id).Order());
            foreach (var p in packs)
            {
                Assert.True(p.Sum(s => s.Length) <= w.Options.SequenceLength);
                Assert.True(p.Sum(s => s.Images) <= w.Options.MaxImagesPerPack);
            }
            Assert.Equal(packs.Count, packer.Stats.Emitted.Packs);
            Assert.Equal(w.Shapes.Sum(s => (long)s.Length), packer.Stats.Emitted.Tokens);
        }, iter: 200);

    [Fact]
    public void PacksBelowTheThreshold_AreCarriedOver_UntilTheFlush()
    {
        var packer = new StreamingPacker(new StreamingPackerOptions { MinEmitFill = 0.97 });
        var min = (int)Math.Ceiling(0.97 * 4096);
        int carriedWindows = 0, early = 0, underfilled = 0;
        foreach (var s in SyntheticShapes.FineVisionLike(5000, seed: 11))
        {
            var windows = packer.Stats.Windows;
            packer.Add(s);
            if (packer.Stats.Windows > windows && packer.Stats.BufferedSamples > 0) carriedWindows++;
            while (packer.TryTakePack(out var pack))
            {
                early++;
                if (Tokens(pack) < min) underfilled++;
            }
        }
        Assert.True(carriedWindows > 10);
        // Only the carry budget may release an underfilled pack before the flush, and it rarely has to.
        Assert.True(underfilled <= early / 50, $"{underfilled} of {early} packs underfilled before the flush");
        packer.Flush();
        Assert.Equal(0, packer.Stats.BufferedTokens);
    }

    [Fact]
    public void CarryBudget_ReleasesTheFullestUnderfilledPacks()
    {
        // Nothing can ever reach 100%: 5 single-sample packs of 60/100; half a 300-token window may be carried.
        var packer = new StreamingPacker(new StreamingPackerOptions
        {
            Packing = new PackingOptions { SequenceLength = 100, Shuffle = false },
            WindowTokens = 300, MinEmitFill = 1.0, MaxCarryFraction = 0.5,
        });
        int[] lengths = [60, 60, 61, 60, 59];
        for (var i = 0; i < lengths.Length; i++) packer.Add(new SampleShape(lengths[i], 0, i));
        var emitted = new List<long>();
        while (packer.TryTakePack(out var pack)) emitted.Add(Assert.Single(pack.ToArray()).Id);
        // Fullest first (61, then the 60s by pack order) until ≤ 150 tokens stay: 61 + 60 + 60 leave 60 + 59.
        Assert.Equal([2L, 0L, 1L], emitted);
        Assert.Equal((2, 119L), (packer.Stats.BufferedSamples, packer.Stats.BufferedTokens));
    }

    [Fact]
    public void BestFitWithCarryOver_FillsFarBetterThanNanovlmStreaming()
    {
        var shapes = SyntheticShapes.FineVisionLike(20_000, seed: 5);
        var nanovlm = new StreamingPacker(StreamingPackerOptions.Nanovlm);
        var ours = new StreamingPacker(new StreamingPackerOptions());
        Run(nanovlm, shapes);
        Run(ours, shapes);
        Assert.True(ours.Stats.Emitted.Fill >= 0.95, $"fill {ours.Stats.Emitted.Fill}");
        Assert.True(ours.Stats.Emitted.Fill > nanovlm.Stats.Emitted.Fill + 0.1,
            $"ours {ours.Stats.Emitted.Fill} vs nanoVLM {nanovlm.Stats.Emitted.Fill}");
    }

    [Fact]
    public void InvalidSamples_AreSkippedAndCounted()
    {
        var packer = new StreamingPacker(new StreamingPackerOptions
        {
            Packing = new PackingOptions { SequenceLength = 100, MaxImagesPerPack = 3 },
        });
        Assert.False(packer.Add(new SampleShape(0, 0, 1)));
        Assert.False(packer.Add(new SampleShape(-5, 0, 2)));
        Assert.False(packer.Add(new SampleShape(10, -1, 3)));
        Assert.False(packer.Add(new SampleShape(101, 0, 4)));
        Assert.False(packer.Add(new SampleShape(50, 4, 5)));
        Assert.True(packer.Add(new SampleShape(100, 3, 6)));
        packer.Flush();
        var stats = packer.Stats;
        Assert.Equal((3, 1, 1, 5), (stats.SkippedInvalid, stats.SkippedTooLong, stats.SkippedTooManyImages, stats.Skipped));
        Assert.True(packer.TryTakePack(out var pack));
        Assert.Equal(6, Assert.Single(pack.ToArray()).Id);
    }

    [Fact]
    public void SteadyState_AllocatesNothing()
    {
        var shapes = SyntheticShapes.FineVisionLike(30_000, seed: 2);
        var packer = new StreamingPacker(new StreamingPackerOptions());
        var taken = 0L;
        void Feed(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                packer.Add(shapes[i]);
                while (packer.TryTakePack(out var pack)) taken += pack.Length;
            }
        }
        Feed(0, 10_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Feed(10_000, 30_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(taken > 0);
    }

    [Fact]
    public void UntakenPacks_SurviveTheNextWindow()
    {
        var shapes = SyntheticShapes.FineVisionLike(3000, seed: 9);
        var packer = new StreamingPacker(new StreamingPackerOptions { WindowTokens = 8192 });
        var ids = new List<long>();
        for (var i = 0; i < shapes.Length; i++)
        {
            packer.Add(shapes[i]);
            // Take only one pack now and then, so several windows stack up in the output.
            if (i % 7 == 0 && packer.TryTakePack(out var pack)) ids.AddRange(pack.ToArray().Select(s => s.Id));
        }
        packer.Flush();
        while (packer.TryTakePack(out var pack)) ids.AddRange(pack.ToArray().Select(s => s.Id));
        Assert.Equal(Enumerable.Range(0, shapes.Length).Select(i => (long)i), ids.Order());
    }

    private static int Tokens(ReadOnlySpan<SampleShape> pack)
    {
        var t = 0;
        foreach (var s in pack) t += s.Length;
        return t;
    }
}
