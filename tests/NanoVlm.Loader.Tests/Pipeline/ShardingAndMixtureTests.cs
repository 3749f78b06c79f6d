using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Loader.Tests.Pipeline;

public sealed class ShardingAndMixtureTests
{
    private static MemorySource TextSource(int shards, int rows, int seed, string name)
    {
        var rng = new Random(seed);
        return new MemorySource(name, Enumerable.Range(0, shards)
            .Select(_ => (IReadOnlyList<RowSpec>)Enumerable.Range(0, rows).Select(_ => PipelineFixtures.TextRow(rng, 1, rng.Next(2, 10))).ToList())
            .ToList());
    }

    [Theory(Timeout = 30_000)]
    [InlineData(5, 3)] // shards dealt to ranks
    [InlineData(2, 3)] // fewer shards than ranks: rows dealt to ranks
    [InlineData(4, 1)]
    public async Task RanksReadDisjointAndCompleteShares(int shards, int world)
    {
        var src = TextSource(shards, 13, 4, "t");
        var all = new List<(int, long)>();
        long rows = 0;
        for (var rank = 0; rank < world; rank++)
        {
            await using var loader = new DataLoader(src, PipelineFixtures.Tiny with { Rank = rank, WorldSize = world });
            await PipelineFixtures.ReadAll(loader, b => all.AddRange(b.Packs.SelectMany(p => p.Origins).Select(o => (o.Position.Shard, o.Position.Row))));
            var c = loader.Counters;
            Assert.Equal(0, c.Dropped);
            Assert.Equal(0, c.InFlight);
            rows += c.RowsRead;
        }
        Assert.Equal(src.TotalRows, rows);
        Assert.Equal(src.TotalRows, all.Count);
        Assert.Equal(src.TotalRows, all.Distinct().Count());
    }

    [Fact(Timeout = 30_000)]
    public async Task MixtureWeightsAreHonouredWithinTwoPercent()
    {
        using var business = TextSource(2, 400, 1, "business");
        using var general = TextSource(2, 400, 2, "general");
        var o = PipelineFixtures.Tiny with { Epochs = null, Workers = 1 };
        await using var loader = new DataLoader([new MixtureSource(business, 10), new MixtureSource(general, 1)], o);
        await PipelineFixtures.ReadAll(loader, _ => { }, max: 60);
        var c = loader.Counters;
        Assert.True(c.SamplesEmitted > 1000, $"{c.SamplesEmitted}");
        Assert.InRange(c.MixtureShares[0], 10.0 / 11 - 0.02, 10.0 / 11 + 0.02);
        var read = (double)c.RowsPerSource[0] / c.RowsRead;
        Assert.InRange(read, 10.0 / 11 - 0.02, 10.0 / 11 + 0.02);
    }

    [Fact(Timeout = 30_000)]
    public async Task StagesRunInOrder_NoPackMixesTwoStages_AndEveryRowIsEmitted()
    {
        using var late = TextSource(1, 40, 2, "late");
        using var early = TextSource(2, 60, 1, "early");
        using var earlyToo = TextSource(1, 30, 3, "early-too");
        // Listed out of order on purpose: the stage decides, not the position.
        MixtureSource[] mix = [new(late, 1) { Stage = 1 }, new(early, 3), new(earlyToo, 1)];
        await using var loader = new DataLoader(mix, PipelineFixtures.Tiny with { Workers = 2 });
        var packStages = new List<int>();
        await PipelineFixtures.ReadAll(loader, b =>
        {
            foreach (var p in b.Packs)
            {
                var stages = p.Origins.Select(o => mix[o.SourceIndex].Stage).Distinct().ToArray();
                Assert.Single(stages);
                packStages.Add(stages[0]);
            }
        });
        Assert.Equal(packStages.Order(), packStages);
        Assert.Contains(0, packStages);
        Assert.Contains(1, packStages);
        var c = loader.Counters;
        Assert.Equal(late.TotalRows + early.TotalRows + earlyToo.TotalRows, c.RowsRead);
        Assert.Equal(c.RowsRead, c.SamplesEmitted);
        Assert.Equal(late.TotalRows, c.EmittedPerSource[0]);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_source_with_its_own_epochs_ends_its_stage_while_the_next_stage_repeats()
    {
        using var first = TextSource(1, 30, 1, "first");
        using var last = TextSource(2, 20, 2, "last");
        MixtureSource[] mix = [new(first, 1) { Epochs = 1 }, new(last, 1) { Stage = 1 }];
        await using var loader = new DataLoader(mix, PipelineFixtures.Tiny with { Epochs = 3, Workers = 1 });
        var stages = new List<int>();
        await PipelineFixtures.ReadAll(loader, b => stages.AddRange(b.Packs.SelectMany(p => p.Origins).Select(o => mix[o.SourceIndex].Stage)));
        var c = loader.Counters;
        Assert.Equal(first.TotalRows, c.RowsPerSource[0]); // one pass, not the loader's three
        Assert.Equal(3 * last.TotalRows, c.RowsPerSource[1]);
        Assert.Equal(stages.Order(), stages);

        var e = Assert.Throws<ArgumentException>(() => new DataLoader([new MixtureSource(first, 1) { Epochs = 0 }]));
        Assert.Contains("first: epochs 0", e.Message);
    }

    [Fact]
    public void NegativeStage_IsRejected()
    {
        using var src = TextSource(1, 3, 1, "s");
        var e = Assert.Throws<ArgumentException>(() => new DataLoader([new MixtureSource(src, 1) { Stage = -1 }]));
        Assert.Contains("stage -1", e.Message);
    }
}
