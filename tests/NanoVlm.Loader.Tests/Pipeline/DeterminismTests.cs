using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Loader.Tests.Pipeline;

public sealed class DeterminismTests
{
    private static async Task<List<string>> Run(MemorySource src, DataLoaderOptions o)
    {
        var list = new List<string>(); // SHA-256 of every batch's bytes (xunit compares large arrays slowly)
        var loader = new DataLoader(src, o);
        await using (loader)
        {
            await PipelineFixtures.ReadAll(loader, b =>
            {
                list.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(PipelineFixtures.Bytes(b))));
            });
        }
        Assert.Equal(0, loader.SlabsOutstanding); // also when stopped early: disposal returns every slab
        return list;
    }

    [Fact(Timeout = 30_000)]
    public async Task OneAndTwoWorkersGiveTheSameBatches()
    {
        var src = PipelineFixtures.Source(3, 20, seed: 5);
        var one = await Run(src, PipelineFixtures.Tiny with { Workers = 1 });
        var two = await Run(src, PipelineFixtures.Tiny with { Workers = 2 });
        Assert.True(one.Count > 3);
        Assert.Equal(one, two);
    }

    [Fact(Timeout = 30_000)]
    public async Task ShardOrderChangesWithSeedAndEpoch()
    {
        var src = PipelineFixtures.Source(6, 3, seed: 2);
        var first = new List<int>();
        await using (var loader = new DataLoader(src, PipelineFixtures.Tiny with { Epochs = 2, Planner = Packing.PlannerKind.NanovlmCompat, WindowTokens = 1 }))
            await PipelineFixtures.ReadAll(loader, b => first.AddRange(b.Packs.SelectMany(p => p.Origins).Select(x => x.Position.Shard)));
        Assert.Equal(2 * src.TotalRows, first.Count);
        // Each epoch reads every shard once; the two epochs' shard orders differ.
        var epoch1 = first.Take(src.TotalRows).Distinct().ToArray();
        var epoch2 = first.Skip(src.TotalRows).Distinct().ToArray();
        Assert.Equal(6, epoch1.Length);
        Assert.Equal(6, epoch2.Length);
        Assert.NotEqual(epoch1, epoch2);
    }
}
