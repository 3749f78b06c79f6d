using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NanoVlm.Packing;
using NanoVlm.SampleData;

namespace NanoVlm.Benchmarks;

/// <summary>
/// One plan over N FineVision-like shapes (L = 4096, 18 images per pack, delta 5, shuffled like nanoVLM).
/// Scratch is owned by the planner, so MemoryDiagnoser must show 0 B per plan after warm-up.
/// Run: <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *PackingPlanner*</c>
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 5)]
public class PackingPlannerBenchmarks
{
    private SampleShape[] _shapes = [];
    private int[] _members = [];
    private int[] _starts = [];
    private PackPlanner _planner = null!;

    [Params(1_000, 8_192, 32_768, 131_072)]
    public int Items { get; set; }

    [Params(PlannerKind.NanovlmCompat, PlannerKind.BestFit)]
    public PlannerKind Planner { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _shapes = SyntheticShapes.FineVisionLike(Items, seed: 0);
        _members = new int[Items];
        _starts = new int[Items + 1];
        _planner = PackPlanner.Create(Planner, new PackingOptions());
        _planner.Plan(_shapes, _members, _starts); // size the scratch once, as a long-running loader would
        // Exact check on this thread (BDN's column uses the process-wide counter, which also sees the runtime's own
        // background allocations — tiered JIT, timers — spread over the few plans a large size gets per iteration).
        const int Plans = 3;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Plans; i++) _planner.Plan(_shapes, _members, _starts);
        long perPlan = (GC.GetAllocatedBytesForCurrentThread() - before) / Plans;
        Console.WriteLine($"// allocated per plan after warm-up (this thread) {Planner} {Items}: {perPlan} B");
    }

    [Benchmark]
    public int Plan() => _planner.Plan(_shapes, _members, _starts);
}
