using System.Diagnostics.Metrics;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;

namespace NanoVlm.Loader.Tests.Pipeline;

public sealed class EndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-pipeline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory(Timeout = 30_000)]
    [InlineData("*.parquet")]
    [InlineData("jsonl/*.jsonl")]
    [InlineData("webdataset/*.tar")]
    public async Task GeneratedDataStreamsWithEveryRowAccounted(string glob)
    {
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 40, Shards = 2, RowGroupSize = 16, Formats = SampleDataFormats.All });
        using var source = RowSources.Open(Path.Combine(_dir, glob));
        var loader = new DataLoader(source, PipelineFixtures.Tiny);
        long samples = 0;
        await using (loader)
            await PipelineFixtures.ReadAll(loader, b => samples += b.Samples);
        var c = loader.Counters;
        Assert.Equal(40, c.RowsRead);
        Assert.Equal(40, c.SamplesEmitted + c.Dropped);
        Assert.Equal(samples, c.SamplesEmitted);
        Assert.True(c.Images > 0);
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("truncated")]
    [InlineData("overwritten")]
    public async Task ADamagedShardOnDiskReachesTheConsumerNamingIt_AndEverySlabComesBack(string damage)
    {
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 60, Shards = 2, RowGroupSize = 10 });
        var victim = Directory.GetFiles(_dir, "*.parquet").Order(StringComparer.Ordinal).Last();
        var bytes = File.ReadAllBytes(victim);
        if (damage == "truncated") bytes = bytes[..(bytes.Length / 2)];
        else new Random(1).NextBytes(bytes.AsSpan(bytes.Length / 3, bytes.Length / 3)); // data pages garbage, footer intact
        File.WriteAllBytes(victim, bytes);

        var error = await Assert.ThrowsAsync<DataSourceException>(async () =>
        {
            using var source = RowSources.Open(_dir);
            var loader = new DataLoader(source, PipelineFixtures.Tiny with { ShuffleShards = false });
            await using (loader)
            {
                try
                {
                    await PipelineFixtures.ReadAll(loader, _ => { });
                }
                finally
                {
                    await loader.DisposeAsync();
                    Assert.Equal(0, loader.SlabsOutstanding);
                }
            }
        });
        Assert.Contains(Path.GetFileName(victim), error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task StageCountersArePublishedThroughTheMeter()
    {
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) => { if (i.Meter.Name == "NanoVlm.Loader") l.EnableMeasurementEvents(i); },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            if (i.Name != "loader.stage.items") return;
            foreach (var t in tags)
                if (t.Key == "stage") lock (seen) seen[(string)t.Value!] = Math.Max(seen.GetValueOrDefault((string)t.Value!), v);
        });
        listener.Start();
        var loader = new DataLoader(PipelineFixtures.Source(1, 10), PipelineFixtures.Tiny);
        await using (loader)
        {
            await PipelineFixtures.ReadAll(loader, _ => { });
            listener.RecordObservableInstruments();
        }
        Assert.True(seen.GetValueOrDefault("read") >= 10);
        Assert.True(seen.GetValueOrDefault("materialize") >= 1);
    }
}
