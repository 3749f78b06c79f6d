using NanoVlm.Loader.Pipeline;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Tests.Pipeline;

/// <summary>
/// A run resumed from the <see cref="LoaderState"/> saved after any batch continues with exactly the batches the
/// uninterrupted run produced, and reads only what the planner held plus the rows not yet read.
/// </summary>
public sealed class ResumeTests
{
    public static TheoryData<string> Scenarios => ["best-fit", "nanovlm-compat", "mixture-and-stages", "rows-dealt-to-ranks", "epochs", "endless"];

    private static (MixtureSource[] Sources, DataLoaderOptions Options, int MaxBatches) Scenario(string name) => name switch
    {
        "best-fit" => ([new(PipelineFixtures.Source(3, 40, seed: 9), 1)], PipelineFixtures.Tiny, int.MaxValue),
        "nanovlm-compat" => ([new(PipelineFixtures.Source(3, 40, seed: 9), 1)],
            PipelineFixtures.Tiny with { Planner = PlannerKind.NanovlmCompat }, int.MaxValue),
        "mixture-and-stages" => ([
            new(PipelineFixtures.Source(2, 30, seed: 3, name: "business"), 3),
            new(PipelineFixtures.Source(2, 30, seed: 4, name: "general"), 1),
            new(PipelineFixtures.Source(1, 20, seed: 5, name: "polish"), 1) { Stage = 1 },
        ], PipelineFixtures.Tiny, int.MaxValue),
        // Fewer shards than ranks: rows, not shards, are dealt to the ranks.
        "rows-dealt-to-ranks" => ([new(PipelineFixtures.Source(2, 150, seed: 6), 1)],
            PipelineFixtures.Tiny with { WorldSize = 4, Rank = 1, WindowTokens = 1024 }, int.MaxValue),
        "epochs" => ([new(PipelineFixtures.Source(2, 15, seed: 8), 1)], PipelineFixtures.Tiny with { Epochs = 3 }, int.MaxValue),
        "endless" => ([new(PipelineFixtures.Source(2, 10, seed: 2), 1)], PipelineFixtures.Tiny with { Epochs = null }, 24),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static async Task<List<string>> Run(MixtureSource[] sources, DataLoaderOptions o, LoaderState? resume, int max,
        List<LoaderState>? states = null)
    {
        var hashes = new List<string>();
        var loader = new DataLoader(sources, o, resume);
        await using (loader)
        {
            await PipelineFixtures.ReadAll(loader, b =>
            {
                hashes.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(PipelineFixtures.Bytes(b))));
                states?.Add(LoaderState.FromJson(b.StateAfter.ToJson())); // what a checkpoint would hold
            }, max);
        }
        Assert.Equal(0, loader.SlabsOutstanding);
        return hashes;
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Scenarios))]
    public async Task ResumeAfterAnyBatch_GivesExactlyTheBatchesThatFollow(string scenario)
    {
        var (sources, options, max) = Scenario(scenario);
        var states = new List<LoaderState>();
        var full = await Run(sources, options, null, max, states);
        Assert.True(full.Count >= 6, $"{scenario}: only {full.Count} batches");
        // The planner held samples (carried, or planned for the next batch) across batch boundaries.
        Assert.Contains(states, s => s.Carried.Count + s.ReadyPacks.Count > 0);
        foreach (var cut in new[] { 1, 2, full.Count / 3, full.Count / 2, full.Count - 1 }.Distinct())
        {
            var resumed = await Run(sources, options with { Workers = 1 }, states[cut - 1], max - cut);
            Assert.True(full.Skip(cut).SequenceEqual(resumed), $"{scenario}: resumed after batch {cut} of {full.Count} differs");
        }
        // A resumed run's own states resume exactly too (a job preempted twice).
        var first = full.Count / 3;
        var again = new List<LoaderState>();
        await Run(sources, options, states[first - 1], max - first, again);
        var second = first + again.Count / 2;
        var twice = await Run(sources, options, again[second - first - 1], max - second);
        Assert.True(full.Skip(second).SequenceEqual(twice), $"{scenario}: resumed twice (after {first}, then {second}) differs");
        if (max == int.MaxValue)
            Assert.Empty(await Run(sources, options, states[^1], int.MaxValue)); // after the last batch: nothing follows
    }

    [Fact(Timeout = 60_000)]
    public async Task Resume_ReadsTheCarriedRowsAndTheUnreadOnes_NotTheRunSoFar()
    {
        var src = PipelineFixtures.Source(4, 50, seed: 12);
        var options = PipelineFixtures.Tiny with { ReadAheadRows = 4 };
        var states = new List<LoaderState>();
        var full = await Run([new(src, 1)], options, null, int.MaxValue, states);
        var state = states[full.Count * 2 / 3];
        var held = state.Carried.Count + state.ReadyPacks.Sum(p => p.Count);
        Assert.True(held > 0);

        var before = src.RowsYielded;
        var loader = new DataLoader(src, options, state);
        await using (loader) await PipelineFixtures.ReadAll(loader, _ => { });
        // The loader takes the held rows again and the rows not consumed before the save; the source may hand out a few
        // more (re-reading the held rows reads through short gaps between them instead of reopening the shard).
        Assert.Equal(src.TotalRows - state.RowsRead + held, loader.Counters.RowsRead);
        Assert.Equal(0, loader.Counters.InFlight);
        var read = src.RowsYielded - before;
        Assert.True(read < src.TotalRows / 2, $"resume read {read} of {src.TotalRows} rows (saved after {state.RowsRead})");
    }

    [Fact(Timeout = 30_000)]
    public async Task Resume_WhenTheHeldRowsAreGone_FailsNamingTheShardAndRow()
    {
        var src = PipelineFixtures.Source(2, 40, seed: 4);
        var states = new List<LoaderState>();
        await Run([new(src, 1)], PipelineFixtures.Tiny, null, int.MaxValue, states);
        var state = states.First(s => s.Carried.Count > 0);
        var row = state.Carried[0].Position;
        // Same name and shards (so the fingerprint matches), but the held row's shard was cut short.
        var cut = new MemorySource(src.Name, [.. src.Data.Select((rows, i) => i == row.Shard ? rows.Take((int)row.Row).ToList() : rows)]);
        await using var loader = new DataLoader(cut, PipelineFixtures.Tiny, state);
        var e = await Assert.ThrowsAsync<NanoVlm.Loader.Sources.DataSourceException>(() => PipelineFixtures.ReadAll(loader, _ => { }));
        Assert.Contains(cut.Shards[row.Shard], e.Message);
        Assert.Contains($"row {row.Row}", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task StateFromOtherOptionsOrSources_IsRejected()
    {
        var src = PipelineFixtures.Source(2, 20, seed: 1);
        var states = new List<LoaderState>();
        await Run([new(src, 1)], PipelineFixtures.Tiny, null, 1, states);
        Assert.Throws<ArgumentException>(() => new DataLoader(src, PipelineFixtures.Tiny with { Seed = 8 }, states[0]));
        Assert.Throws<ArgumentException>(() => new DataLoader(PipelineFixtures.Source(3, 20, seed: 1), PipelineFixtures.Tiny, states[0]));
        Assert.Throws<ArgumentException>(() => new DataLoader(
            [new MixtureSource(src, 1), new MixtureSource(PipelineFixtures.Source(1, 5, name: "other"), 1)], PipelineFixtures.Tiny, states[0]));
        new DataLoader(src, PipelineFixtures.Tiny with { Workers = 1 }, states[0]).Dispose(); // worker count is free to change
    }

    [Fact(Timeout = 60_000)]
    public async Task StateAfterIsBuiltOnFirstReadAndKeptAfterDispose()
    {
        var loader = new DataLoader(PipelineFixtures.Source(2, 30, seed: 3), PipelineFixtures.Tiny);
        await using (loader)
        {
            var read = await loader.ReadNextAsync() ?? throw new InvalidOperationException("no batch");
            var state = read.StateAfter;
            Assert.Same(state, read.StateAfter);
            Assert.Equal(1, state.BatchesEmitted);
            read.Dispose();
            Assert.Same(state, read.StateAfter); // read before Dispose: still there

            var unread = await loader.ReadNextAsync() ?? throw new InvalidOperationException("no batch");
            unread.Dispose();
            // Its snapshot went back to the loader with the slabs: a first read now would see another batch's state.
            Assert.Throws<ObjectDisposedException>(() => unread.StateAfter);

            // The snapshots are reused from batch to batch; every state still says where its own batch ended.
            var third = await loader.ReadNextAsync() ?? throw new InvalidOperationException("no batch");
            using (third) Assert.Equal(3, third.StateAfter.BatchesEmitted);
            Assert.Equal(1, state.BatchesEmitted);
        }
    }
}
