using BenchmarkDotNet.Attributes;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;

namespace NanoVlm.Benchmarks;

/// <summary>
/// The FineVision parquet reader alone: every row of one 500-row shard of the sample data (row groups of 100 rows,
/// like FineVision's shards), each image's bytes touched. One operation is one row, so "Allocated" is the managed
/// bytes per row the reader allocates (the row objects and its strings included) and "Mean" the time per row.
/// Run: dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *ParquetReader*
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(3)]
[IterationCount(15)]
public class ParquetReaderBenchmarks
{
    private const int Rows = 500;
    private string _dir = null!;
    private IRowSource _source = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("nanovlm-bench-parquet-").FullName;
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = Rows, Shards = 1, RowGroupSize = 100 });
        _source = RowSources.Open(_dir);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _source.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Reads the shard; returns a checksum of the image bytes so nothing is optimized away.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public long ReadShard()
    {
        long sum = 0;
        foreach (var row in _source.ReadShard(0))
            foreach (var image in row.Images)
            {
                var span = image.Span;
                sum += span.Length + (span.Length > 0 ? span[^1] : 0);
            }
        return sum;
    }
}
