using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Packing;
using NanoVlm.SampleData;
using Xunit.Abstractions;

namespace NanoVlm.Loader.Tests.Pipeline;

/// <summary>
/// Every batch of three fixed runs, hashed (token arrays, tiles, origins, grids and the resume state after the batch),
/// against hashes recorded from the loader before its pipeline was split into stage types: a refactoring of the
/// pipeline must leave every byte the consumer sees, and every saved state, as it was.
/// </summary>
/// <remarks>
/// The <see cref="TileFormat.Float32"/> hashes are the ones recorded before the slab could carry uint8 tiles (the
/// float32 slab is unchanged). The <see cref="TileFormat.UInt8"/> hashes were recorded when that format was added, on
/// the same runs: the same token arrays, origins, grids and states, with the tiles hashed as that slab carries them
/// (global tiles as float32, then the grid tiles as bytes); <c>TileFormatTests</c> proves those tiles expand to the
/// float32 run's tiles bit for bit, so the two hashes pin the same batches.
/// </remarks>
public sealed class BatchHashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-batch-hash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory(Timeout = 300_000)]
    [InlineData(PlannerKind.BestFit, 2, TileFormat.Float32, "9460AF8054E14268")]
    [InlineData(PlannerKind.NanovlmCompat, 2, TileFormat.Float32, "EFAEBC0786D20195")]
    [InlineData(PlannerKind.BestFit, 1, TileFormat.Float32, "9460AF8054E14268")]
    [InlineData(PlannerKind.BestFit, 2, TileFormat.UInt8, "DAE5197E0AAE6434")]
    [InlineData(PlannerKind.NanovlmCompat, 2, TileFormat.UInt8, "E705EFF9C2B5BF4A")]
    [InlineData(PlannerKind.BestFit, 1, TileFormat.UInt8, "DAE5197E0AAE6434")]
    public async Task SampleDataBatchesMatchTheRecordedHashes(PlannerKind planner, int workers, TileFormat format, string expected)
    {
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 60, Shards = 2, RowGroupSize = 16 });
        using var source = RowSources.Open(_dir);
        var loader = new DataLoader(source, new DataLoaderOptions { Planner = planner, Workers = workers, Seed = 3, TileFormat = format });
        Assert.Equal(expected, await HashRun(loader));
    }

    [Theory(Timeout = 300_000)]
    [InlineData(TileFormat.Float32, "8B94C34A45E2BA7B")]
    [InlineData(TileFormat.UInt8, "3EE0F35C488F4263")]
    public async Task AStagedMixtureWithFailingImagesMatchesTheRecordedHash(TileFormat format, string expected)
    {
        var png = PipelineFixtures.Png(40, 30, 1);
        byte[] truncated = png[..(png.Length / 2)]; // the header probes fine, the pixels fail in the materialize stage
        byte[] garbage = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // fails in the shape stage
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 40).Select(i => (i % 7) switch
        {
            3 => PipelineFixtures.TextRow(rng) with { Images = [png, truncated] },
            5 => PipelineFixtures.TextRow(rng) with { Images = [garbage] },
            6 => PipelineFixtures.TextRow(rng, rating: 0),
            _ => PipelineFixtures.TextRow(rng, rng.Next(1, 3), rng.Next(3, 40)) with { Images = [.. Enumerable.Repeat(png, i % 3)] },
        }).ToList();
        var failing = new MemorySource("failing", [rows[..20], rows[20..]]);
        MixtureSource[] mixture =
        [
            new(PipelineFixtures.Source(3, 30, seed: 2, name: "a"), 2),
            new(failing, 1),
            new(PipelineFixtures.Source(1, 25, seed: 4, name: "late"), 1) { Stage = 1 },
        ];
        var logged = 0;
        var loader = new DataLoader(mixture, PipelineFixtures.Tiny with { Seed = 11, TileFormat = format }) { Log = _ => Interlocked.Increment(ref logged) };
        Assert.Equal(expected, await HashRun(loader));
        Assert.True(logged > 0, "the run drops samples for their images");
    }

    private async Task<string> HashRun(DataLoader loader)
    {
        var all = new StringBuilder();
        // Its own loop, not PipelineFixtures.ReadAll: hashing full-size tiles on a loaded machine can take longer than
        // that helper's stall limit; the test's timeout still ends a hung run.
        await using (loader)
        {
            while (await loader.ReadNextAsync() is { } b)
            {
                using (b)
                {
                    var h = Hash(b);
                    output.WriteLine($"batch {b.Index}: {b.Packs.Count} packs, {b.Samples} samples, {h}");
                    all.Append(h).Append('\n');
                }
            }
        }
        Assert.Equal(0, loader.SlabsOutstanding);
        var run = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(all.ToString())))[..16];
        output.WriteLine($"run: {run}");
        return run;
    }

    private static string Hash(Batch batch)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string s) => h.AppendData(Encoding.UTF8.GetBytes(s + "\n"));
        Text($"batch {batch.Index} packs {batch.Packs.Count}");
        foreach (var p in batch.Packs)
        {
            Text($"tokens {p.Tokens} tiles {p.TileCount} samples {p.SampleCount}");
            Text(string.Join(',', p.Origins.Select(o => $"{o.SourceIndex}/{o.Position.Shard}/{o.Position.RowGroup}/{o.Position.Row}")));
            Text(string.Join(',', p.SampleImages));
            Text(string.Join(',', p.ImageGrids.Select(g => $"{g.Rows}x{g.Cols}")));
            h.AppendData(MemoryMarshal.AsBytes(p.InputIds));
            h.AppendData(MemoryMarshal.AsBytes(p.Labels));
            h.AppendData(MemoryMarshal.AsBytes(p.AttentionMask));
            h.AppendData(MemoryMarshal.AsBytes(p.PositionIds));
            h.AppendData(MemoryMarshal.AsBytes(p.CuSeqlens));
            if (p.Layout.Format == TileFormat.Float32)
            {
                h.AppendData(MemoryMarshal.AsBytes(p.Tiles));
            }
            else
            {
                h.AppendData(MemoryMarshal.AsBytes(p.GlobalTiles));
                h.AppendData(p.TileBytes);
            }
        }
        // The state without its fingerprint (a hash of the options' text, which may gain fields without changing batches).
        Text((batch.StateAfter with { Fingerprint = "" }).ToJson());
        return Convert.ToHexString(h.GetHashAndReset())[..16];
    }
}
