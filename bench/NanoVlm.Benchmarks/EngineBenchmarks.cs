using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NanoVlm.Benchmarks.Engine;
using TorchSharp;

namespace NanoVlm.Benchmarks;

/// <summary>
/// The engine on the CPU: one training step (forward + loss + backward + clip + AdamW step, train.py's recipe) and
/// greedy generation of 64 tokens with the KV cache after the 1,024-token prompt, for the <c>small</c> configuration
/// of <see cref="EngineBenchCase"/> (and <c>tiny</c>, whose step is almost all per-op overhead). libtorch threads:
/// ENGINE_BENCH_THREADS (default 2). Run:
/// <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *EngineBenchmarks*</c>.
/// The side-by-side comparison with nanoVLM's Python is tools/engine_bench.sh.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EngineBenchmarks
{
    private EngineBenchCase? _case;
    private EngineTrainer? _trainer;

    /// <summary>The configuration.</summary>
    [Params("small", "tiny")]
    public string Config { get; set; } = "small";

    /// <summary>Builds the model, optimizer and batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(int.TryParse(Environment.GetEnvironmentVariable("ENGINE_BENCH_THREADS"), out int t) ? t : 2);
        _case = EngineBenchCase.Create(Config);
        _trainer = new EngineTrainer(_case);
    }

    /// <summary>Releases the native tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _trainer?.Dispose();
        _case?.Dispose();
    }

    /// <summary>Forward + backward + optimizer step.</summary>
    /// <returns>The loss.</returns>
    [Benchmark]
    public float TrainStep() => _trainer!.TrainStep();

    /// <summary>Prefill of the prompt and 64 greedy decode steps.</summary>
    /// <returns>Ids produced.</returns>
    [Benchmark]
    public long Generate64() => _trainer!.Generate(64);
}
