using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Pipeline;

public sealed class AccountingAndFaultTests
{
    private static readonly byte[] s_png = PipelineFixtures.Png(40, 30, 1);
    private static readonly byte[] s_truncated = s_png[..(s_png.Length / 2)]; // header fine, pixels cut: fails at decode
    private static readonly byte[] s_garbage = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    private static readonly byte[] s_big = PipelineFixtures.Png(120, 120, 2);

    /// <summary>One row of every kind; expected drop reason (null = emitted).</summary>
    private static (MemorySource Source, DropReason?[] Expected) Mixed()
    {
        var rng = new Random(3);
        var rows = new List<(RowSpec, DropReason?)>
        {
            (PipelineFixtures.TextRow(rng) with { Images = [s_png] }, null),
            (PipelineFixtures.TextRow(rng, rating: 0), DropReason.Rating),
            (new RowSpec(new TextSample { Texts = [] }, []), DropReason.Empty),
            (PipelineFixtures.TextRow(rng, words: 600), DropReason.TooLong),
            (PipelineFixtures.TextRow(rng) with { Images = [s_png, s_png, s_png, s_png, s_png] }, DropReason.TooManyImages),
            (PipelineFixtures.TextRow(rng) with { Images = [s_png, s_garbage] }, DropReason.CorruptImage),
            (PipelineFixtures.TextRow(rng) with { Images = [s_truncated] }, DropReason.CorruptImage),
            (PipelineFixtures.TextRow(rng) with { Images = [s_big] }, DropReason.DecodeLimit),
            (PipelineFixtures.TextRow(rng), null),
        };
        var all = Enumerable.Range(0, 4).SelectMany(_ => rows).ToList();
        return (new MemorySource("mixed", [all.Select(r => r.Item1).ToList()]), all.Select(r => r.Item2).ToArray());
    }

    private static DataLoaderOptions Opts => PipelineFixtures.Tiny with
    {
        Images = PipelineFixtures.Tiny.Images with { MaxPixels = 100 * 100 },
    };

    [Fact(Timeout = 30_000)]
    public async Task EveryRowEndsEmittedOrDroppedWithItsReason()
    {
        var (src, expected) = Mixed();
        var logged = new List<string>();
        var loader = new DataLoader(src, Opts) { Log = m => { lock (logged) logged.Add(m); } };
        var emitted = new List<long>();
        await using (loader)
            await PipelineFixtures.ReadAll(loader, b => emitted.AddRange(b.Packs.SelectMany(p => p.Origins).Select(o => o.Position.Row)));
        var c = loader.Counters;
        Assert.Equal(expected.Length, c.RowsRead);
        Assert.Equal(expected.Length, c.SamplesEmitted + c.Dropped);
        Assert.Equal(0, c.InFlight);
        foreach (var reason in Enum.GetValues<DropReason>())
            Assert.Equal(expected.Count(e => e == reason), c.DroppedFor(reason));
        Assert.Equal(Enumerable.Range(0, expected.Length).Where(i => expected[i] is null).Select(i => (long)i).Order(), emitted.Order());
        Assert.Equal(expected.Count(e => e is DropReason.CorruptImage or DropReason.DecodeLimit), logged.Count);
        Assert.All(logged, m => Assert.Contains("mixed-000 row ", m, StringComparison.Ordinal));
        Assert.InRange(c.FilteredRatio, 0.7, 0.8);
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(true)]  // corrupt header: found while shaping
    [InlineData(false)] // truncated pixels: found while materializing
    public async Task StrictImagesFailTheRunNamingShardAndRow(bool header)
    {
        var rng = new Random(1);
        var rows = Enumerable.Range(0, 12).Select(_ => PipelineFixtures.TextRow(rng) with { Images = [s_png] }).ToList();
        rows[7] = rows[7] with { Images = [header ? s_garbage : s_truncated] };
        var src = new MemorySource("strict", [rows]);
        var loader = new DataLoader(src, PipelineFixtures.Tiny with { StrictImages = true });
        await using (loader)
        {
            var e = await Assert.ThrowsAsync<DataSourceException>(() => PipelineFixtures.ReadAll(loader, _ => { }));
            Assert.Equal(7, e.Row);
            Assert.Equal("images", e.Column);
            // The stages pass a placeholder name on the hot path and name the image once it fails.
            var inner = Assert.IsType<ImageDecodeException>(e.InnerException);
            Assert.Equal("strict-000 row 7 image 0", inner.InputName);
            Assert.Contains("'strict-000 row 7 image 0'", inner.Message, StringComparison.Ordinal);
        }
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Fact(Timeout = 30_000)]
    public async Task ASourceThatThrowsMidShardReachesTheConsumer()
    {
        var src = new MemorySource("boom", PipelineFixtures.Source(2, 30).Data) { ThrowAt = (1, 10) };
        var loader = new DataLoader(src, PipelineFixtures.Tiny with { ShuffleShards = false });
        await using (loader)
        {
            var e = await Assert.ThrowsAsync<DataSourceException>(() => PipelineFixtures.ReadAll(loader, _ => { }));
            Assert.Contains("injected failure", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Fact(Timeout = 30_000)]
    public async Task AThrowingMaterializeStageReachesTheConsumer()
    {
        var rng = new Random(1);
        var rows = Enumerable.Range(0, 30).Select(_ => PipelineFixtures.TextRow(rng) with { Images = [s_png] }).ToList();
        rows[20] = rows[20] with { Images = [s_truncated] };
        var src = new MemorySource("stage", [rows]);
        // Log is called from the materialize worker when it drops the truncated image: make that stage throw.
        var loader = new DataLoader(src, PipelineFixtures.Tiny) { Log = _ => throw new InvalidOperationException("stage failed") };
        await using (loader)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PipelineFixtures.ReadAll(loader, _ => { }));
            Assert.Equal("stage failed", e.Message);
        }
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellationStopsEveryStagePromptly()
    {
        var src = PipelineFixtures.Source(2, 20);
        var loader = new DataLoader(src, PipelineFixtures.Tiny with { Epochs = null });
        using var cts = new CancellationTokenSource();
        var held = await loader.ReadNextAsync(cts.Token);
        Assert.NotNull(held);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await loader.ReadNextAsync(cts.Token));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await loader.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"dispose took {sw.Elapsed}");
        Assert.Equal(held!.Packs.Count, loader.SlabsOutstanding); // only the batch we hold
        held.Dispose();
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Fact(Timeout = 30_000)]
    public async Task SyncEnumeratorAndProfileWork()
    {
        var src = PipelineFixtures.Source(1, 20);
        var loader = new DataLoader(src, PipelineFixtures.Tiny);
        await using (loader)
        {
            var n = 0;
            await Task.Run(() =>
            {
                foreach (var b in loader)
                    using (b) n++;
            });
            Assert.True(n > 0);
            Assert.Throws<InvalidOperationException>(() => loader.GetEnumerator());
            var profile = loader.Profile();
            Assert.Equal(["read", "shape", "plan", "materialize", "consume"], profile.Stages.Select(s => s.Stage));
            Assert.Equal(20, profile.Stages[0].Items);
            Assert.Equal(n, profile.Stages[3].Items);
            Assert.Contains(profile.Bottleneck, profile.Stages.Select(s => s.Stage));
        }
    }
}
