using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Text;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Tests.Pipeline;

public sealed class BatchContentTests
{
    /// <summary>Every pack equals the naive composition: SamplePreparer's ids/labels per sample + one pad, positions
    /// restarting per sample, cu_seqlens, tail padding, and ImagePreprocessor's tiles in order.</summary>
    [Theory(Timeout = 30_000)]
    [InlineData(TileFormat.UInt8)]
    [InlineData(TileFormat.Float32)]
    public async Task PacksEqualNaiveCompositionOfTextAndImageFunctions(TileFormat format)
    {
        var src = PipelineFixtures.Source(2, 40);
        var o = PipelineFixtures.Tiny with { TileFormat = format };
        await using var loader = new DataLoader(src, o);
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok, new SamplePreparerOptions { ImageTokenLength = o.ImageTokenLength });
        var pre = new ImagePreprocessor(o.Images);
        var L = o.LmMaxLength;
        var seen = new HashSet<SampleOrigin>();
        var n = await PipelineFixtures.ReadAll(loader, batch =>
        {
            Assert.InRange(batch.Packs.Count, 1, o.BatchSize);
            foreach (var pack in batch.Packs)
            {
                var ids = new List<int>();
                var labels = new List<int>();
                var attn = new List<int>();
                var pos = new List<int>();
                var cu = new List<int> { 0 };
                var tiles = new List<float>();
                foreach (var origin in pack.Origins)
                {
                    Assert.True(seen.Add(origin));
                    var row = src.Row(origin);
                    var grids = new List<ImageGrid>();
                    for (var i = 0; i < row.Images.Length; i++)
                    {
                        var g = pre.Plan(row.Images[i], "x");
                        var dest = new float[g.OutputFloatCount];
                        pre.Process(row.Images[i], "x", dest);
                        tiles.AddRange(dest);
                        grids.Add(new ImageGrid(g.Grid.Rows, g.Grid.Cols));
                    }
                    var r = prep.Prepare(row.Text, grids.ToArray());
                    Assert.True(r.Ok);
                    var cur = prep.Current;
                    ids.AddRange(cur.InputIds.ToArray());
                    labels.AddRange(cur.Labels.ToArray());
                    attn.AddRange(Enumerable.Repeat(1, r.Length));
                    pos.AddRange(Enumerable.Range(0, r.Length + 1));
                    ids.Add(tok.PadTokenId);
                    labels.Add(-100);
                    attn.Add(0);
                    cu.Add(ids.Count);
                }
                Assert.Equal(ids.Count, pack.Tokens);
                var tail = L - ids.Count;
                ids.AddRange(Enumerable.Repeat(tok.PadTokenId, tail));
                labels.AddRange(Enumerable.Repeat(-100, tail));
                attn.AddRange(Enumerable.Repeat(0, tail));
                pos.AddRange(Enumerable.Repeat(0, tail));
                Assert.Equal(ids.ToArray(), pack.InputIds.ToArray());
                Assert.Equal(labels.ToArray(), pack.Labels.ToArray());
                Assert.Equal(attn.ToArray(), pack.AttentionMask.ToArray());
                Assert.Equal(pos.ToArray(), pack.PositionIds.ToArray());
                Assert.Equal(cu.ToArray(), pack.CuSeqlens.ToArray());
                var expanded = new float[tiles.Count];
                pack.CopyTilesTo(expanded);
                Assert.True(tiles.ToArray().AsSpan().SequenceEqual(expanded));
                if (format == TileFormat.Float32)
                {
                    Assert.Equal(tiles.Count, pack.Tiles.Length);
                    Assert.Throws<InvalidOperationException>(() => pack.TileBytes.Length);
                }
                else
                {
                    Assert.Equal(pack.TileCount - pack.ImageGrids.Count(g => g.HasGlobalTile), pack.TileBytes.Length / pack.Layout.TileFloats);
                    Assert.Equal(pack.GlobalTileCount, pack.GlobalTiles.Length / pack.Layout.TileFloats);
                    Assert.Throws<InvalidOperationException>(() => pack.Tiles.Length);
                }
                Assert.True(pack.Tokens <= L);
                Assert.True(pack.ImageGrids.Count <= o.MaxImagesPerKnapsack);
            }
        });
        Assert.True(n > 3);
        var c = loader.Counters;
        Assert.Equal(src.TotalRows, c.RowsRead);
        Assert.Equal(seen.Count, c.SamplesEmitted);
        Assert.Equal(0, c.InFlight);
        Assert.Equal(src.TotalRows, c.SamplesEmitted + c.Dropped);
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    /// <summary>With the compat planner and a window holding all data, the packs are nanoVLM's knapsack groups over the
    /// same buffer, in the same (shuffled) order.</summary>
    [Fact(Timeout = 30_000)]
    public async Task CompatModeReproducesNanovlmKnapsackOnTheSameBuffer()
    {
        var src = PipelineFixtures.Source(1, 60, seed: 3);
        var o = PipelineFixtures.Tiny with { Planner = PlannerKind.NanovlmCompat, WindowTokens = 1 << 20, ShuffleShards = false };
        await using var loader = new DataLoader(src, o);
        var got = new List<long[]>();
        await PipelineFixtures.ReadAll(loader, b => got.AddRange(b.Packs.Select(p => p.Origins.Select(x => x.Position.Row).ToArray())));

        // The same buffer, shaped naively, planned by nanoVLM's knapsack directly.
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok, new SamplePreparerOptions { ImageTokenLength = o.ImageTokenLength });
        var pre = new ImagePreprocessor(o.Images);
        var shapes = new List<SampleShape>();
        for (var r = 0; r < src.Data[0].Count; r++)
        {
            var row = src.Data[0][r];
            var grids = row.Images.Select(i => pre.Plan(i, "x").Grid).Select(g => new ImageGrid(g.Rows, g.Cols)).ToArray();
            var res = prep.Prepare(row.Text, grids);
            if (res.Ok && res.Length < o.MaxSampleLength && grids.Length <= o.MaxImagesPerExample)
                shapes.Add(new SampleShape(res.Length + 1, grids.Length, r));
        }
        var planner = new NanovlmCompatPlanner(new PackingOptions { SequenceLength = o.LmMaxLength, MaxImagesPerPack = o.MaxImagesPerKnapsack, Seed = o.Seed });
        var members = new int[shapes.Count];
        var starts = new int[shapes.Count + 1];
        var n = planner.Plan(shapes.ToArray(), members, starts);
        var expected = Enumerable.Range(0, n)
            .Select(p => members[starts[p]..starts[p + 1]].Select(m => shapes[m].Id).ToArray()).ToList();
        Assert.Equal(expected.Count, got.Count);
        for (var p = 0; p < n; p++) Assert.Equal(expected[p], got[p]);
    }
}
