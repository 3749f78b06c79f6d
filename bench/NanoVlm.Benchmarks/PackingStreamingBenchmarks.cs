using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NanoVlm.Packing;
using NanoVlm.SampleData;

namespace NanoVlm.Benchmarks;

/// <summary>
/// 32,768 FineVision-like shapes through a <see cref="StreamingPacker"/> at nanoVLM's window (4096 × 8 tokens):
/// nanoVLM's rule (every pack emitted) against best fit with carry-over. The emitted fill is printed to the log
/// (<c>// fill</c>) and the packer is reused across invocations, so MemoryDiagnoser shows the steady state.
/// Run: <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *PackingStreaming*</c>
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 5)]
public class PackingStreamingBenchmarks
{
    private const int Items = 32_768;
    private SampleShape[] _shapes = [];
    private StreamingPacker _packer = null!;

    [Params(PlannerKind.NanovlmCompat, PlannerKind.BestFit)]
    public PlannerKind Planner { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _shapes = SyntheticShapes.FineVisionLike(Items, seed: 0);
        _packer = new StreamingPacker(Planner == PlannerKind.NanovlmCompat
            ? StreamingPackerOptions.Nanovlm
            : new StreamingPackerOptions());
        PackAll();
        var s = _packer.Stats.Emitted;
        Console.WriteLine($"// fill {Planner}: {s.Fill:F4} ({s.Packs} packs, lower bound {s.LowerBound}, window 32768)");
        long before = GC.GetAllocatedBytesForCurrentThread();
        PackAll();
        Console.WriteLine($"// allocated per {Items} samples after warm-up (this thread) {Planner}: {GC.GetAllocatedBytesForCurrentThread() - before} B");
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public long PackAll()
    {
        long taken = 0;
        foreach (var shape in _shapes)
        {
            _packer.Add(shape);
            while (_packer.TryTakePack(out var pack)) taken += pack.Length;
        }
        _packer.Flush();
        while (_packer.TryTakePack(out var pack)) taken += pack.Length;
        return taken;
    }
}
