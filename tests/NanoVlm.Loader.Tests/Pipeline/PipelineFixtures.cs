using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using SkiaSharp;

namespace NanoVlm.Loader.Tests.Pipeline;

/// <summary>A row spec of the in-memory source.</summary>
public sealed record RowSpec(TextSample Text, byte[][] Images);

/// <summary>An in-memory <see cref="IRowSource"/>; can throw at a given shard/row.</summary>
public sealed class MemorySource(string name, IReadOnlyList<IReadOnlyList<RowSpec>> shards) : IRowSource
{
    public string Name { get; } = name;

    public IReadOnlyList<string> Shards { get; } = Enumerable.Range(0, shards.Count).Select(i => $"{name}-{i:D3}").ToArray();

    public IReadOnlyList<IReadOnlyList<RowSpec>> Data { get; } = shards;

    public (int Shard, long Row)? ThrowAt { get; init; }

    public int TotalRows => Data.Sum(s => s.Count);

    private int _rowsYielded;

    /// <summary>Rows handed out by <see cref="ReadShard"/> so far (to prove what a resume reads).</summary>
    public int RowsYielded => Volatile.Read(ref _rowsYielded);

    public IEnumerable<SourceRow> ReadShard(int shard, long startRow = 0, CancellationToken cancellationToken = default)
    {
        for (var r = startRow; r < Data[shard].Count; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ThrowAt is { } t && t.Shard == shard && t.Row == r)
                throw new DataSourceException(Shards[shard], "injected failure", 0, r);
            var spec = Data[shard][(int)r];
            Interlocked.Increment(ref _rowsYielded);
            yield return new SourceRow
            {
                Position = new RowPosition(shard, 0, r),
                ShardName = Shards[shard],
                Text = spec.Text,
                Images = spec.Images.Select(b => (ReadOnlyMemory<byte>)b).ToArray(),
            };
        }
    }

    public RowSpec Row(SampleOrigin o) => Data[o.Position.Shard][(int)o.Position.Row];

    public void Dispose() { }
}

public static class PipelineFixtures
{
    /// <summary>Small sequences, tiny tiles (32 px, long side 64) and 8 image tokens per tile: fast tests.</summary>
    public static DataLoaderOptions Tiny { get; } = new()
    {
        LmMaxLength = 512,
        MaxSampleLength = 512,
        ImageTokenLength = 8,
        Images = new ImagePipelineOptions { SplitSize = 32, MaxSideLength = 64 },
        WindowTokens = 2048,
        BatchSize = 2,
        Workers = 2,
        Seed = 7,
    };

    private static readonly string[] s_words = ["red", "square", "circle", "two", "blue", "the", "image", "shows", "a", "count", "of", "green"];

    public static byte[] Png(int width, int height, int seed)
    {
        using var bmp = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rng = new Random(seed);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bmp.SetPixel(x, y, new SKColor((byte)rng.Next(256), (byte)((x * 7 + seed) & 255), (byte)((y * 5) & 255)));
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static string Words(Random rng, int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => s_words[rng.Next(s_words.Length)]));

    public static RowSpec TextRow(Random rng, int turns = 1, int words = 12, long? rating = 3)
    {
        var texts = Enumerable.Range(0, turns).Select(_ => new ChatTurn(Words(rng, words), Words(rng, words))).ToArray();
        return new RowSpec(new TextSample
        {
            Texts = texts,
            RelevanceRatings = Enumerable.Repeat<long?>(rating, turns).ToArray(),
        }, []);
    }

    /// <summary>Rows with 0–3 images of 1×1..2×2 grids and 1–2 turns.</summary>
    public static MemorySource Source(int shards, int rowsPerShard, int seed = 1, string name = "mem")
    {
        var rng = new Random(seed);
        var data = new List<IReadOnlyList<RowSpec>>();
        for (var s = 0; s < shards; s++)
        {
            var rows = new List<RowSpec>();
            for (var r = 0; r < rowsPerShard; r++)
            {
                var row = TextRow(rng, rng.Next(1, 3), rng.Next(3, 30));
                var images = Enumerable.Range(0, rng.Next(0, 4))
                    .Select(_ => Png(rng.Next(8, 80), rng.Next(8, 80), rng.Next())).ToArray();
                rows.Add(row with { Images = images });
            }
            data.Add(rows);
        }
        return new MemorySource(name, data);
    }

    /// <summary>Reads up to <paramref name="max"/> batches, hands each to <paramref name="each"/>, then disposes it
    /// (holding batches would stall the loader once its slabs are out). Fails instead of hanging.</summary>
    public static async Task<int> ReadAll(DataLoader loader, Action<Batch> each, int max = int.MaxValue)
    {
        var count = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (count < max && await loader.ReadNextAsync(cts.Token) is { } b)
            {
                using (b) each(b);
                count++;
            }
        }
        catch (OperationCanceledException e) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"Loader stalled after {count} batches: {loader.Counters} {string.Join("; ", loader.Profile().Stages)}", e);
        }
        return count;
    }

    /// <summary>Every byte of a batch that the consumer sees (token arrays and tiles as the slab carries them).</summary>
    public static byte[] Bytes(Batch batch)
    {
        var ms = new MemoryStream();
        foreach (var p in batch.Packs)
        {
            void Put<T>(Span<T> s) where T : struct => ms.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s));
            Put(p.InputIds);
            Put(p.Labels);
            Put(p.AttentionMask);
            Put(p.PositionIds);
            Put(p.CuSeqlens);
            if (p.Layout.Format == TileFormat.Float32)
            {
                Put(p.Tiles);
            }
            else
            {
                Put(p.GlobalTiles);
                Put(p.TileBytes);
            }
        }
        return ms.ToArray();
    }
}
