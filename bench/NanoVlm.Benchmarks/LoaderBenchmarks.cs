using BenchmarkDotNet.Attributes;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;

namespace NanoVlm.Benchmarks;

/// <summary>
/// The whole loader in steady state, nanoVLM's defaults (4096 tokens, batch 2, 512-pixel tiles, 2048 long side):
/// each operation is one packed batch from a running, endless loader, so the MemoryDiagnoser's "Allocated" column
/// is the managed bytes the whole process allocates per batch in steady state (all stages, all threads; the pinned
/// slabs are allocated once, before the measured batches). Throughput against nanoVLM's
/// Python pipeline is measured by tools/loader_bench.sh, not here.
/// Run: dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *LoaderBatch*
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(6)]
[InvocationCount(1)]
public class LoaderBatchBenchmarks
{
    // 64 batches (~700 rows) per iteration, so that the allocation figure, which the MemoryDiagnoser takes from one
    // iteration, averages over the reader's per-shard and per-row-group objects (a 500-row shard opens every ~45
    // batches) instead of depending on whether a shard boundary falls inside it.
    private const int BatchesPerIteration = 64;
    private string _dir = null!;
    private IRowSource _source = null!;
    private DataLoader _loader = null!;
    private IEnumerator<Batch> _batches = null!;

    /// <summary>Materialize workers.</summary>
    [Params(1, 2)]
    public int Workers { get; set; }

    // One endless loader for the whole run, its first SettleBatches taken in the setup: startup (JIT, pool
    // allocation, tokenizer loading, the workers' first scratch buffers) is outside the measurement, and so is the
    // filling of the loader's array pools, which keep what comes back: the rows and samples in flight (the planner's
    // window) reach their most only after a few hundred batches, and each new high allocates once.
    private const int SettleBatches = 400;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("nanovlm-bench-loader-").FullName;
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 2000, Shards = 4 });
        _source = RowSources.Open(_dir);
        _loader = new DataLoader(_source, new DataLoaderOptions { Workers = Workers, Epochs = null });
        _batches = _loader.GetEnumerator();
        for (var i = 0; i < SettleBatches; i++) Next();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _batches?.Dispose();
        _loader?.Dispose();
        _source.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One packed batch (two 4096-token sequences with their tiles), disposed at once.</summary>
    [Benchmark(OperationsPerInvoke = BatchesPerIteration)]
    public long Batch()
    {
        long tokens = 0;
        for (var i = 0; i < BatchesPerIteration; i++) tokens += Next();
        return tokens;
    }

    private long Next()
    {
        if (!_batches.MoveNext()) throw new InvalidOperationException("the loader ended");
        using var b = _batches.Current;
        return b.Tokens;
    }
}
