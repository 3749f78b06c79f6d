using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;

namespace NanoVlm.Benchmarks.Engine;

/// <summary>
/// Console harness for tools/engine_bench.sh, the C# twin of tools/engine_reference/engine_bench.py:
/// <c>engine-harness step [--config small|tiny] [--threads 2] [--steps 8] [--warmup 2] [--gen-tokens 64] [--gen-reps 3]</c>
/// prints one JSON object with the step times and generation rates; <c>engine-harness soak [--steps 1000] [--every 100]</c>
/// trains the tiny config and prints the managed heap (after a full GC) and the RSS every N steps; <c>engine-harness gemm
/// [--threads 2] [--n 1024] [--reps 10]</c> prints libtorch's fp32 n×n matmul GFLOP/s.
/// </summary>
public static class EngineHarness
{
    /// <summary>Runs a mode; returns the exit code.</summary>
    /// <param name="args">Mode and options.</param>
    /// <returns>0 on success.</returns>
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("step" or "soak" or "gemm" or "train-soak"))
        {
            Console.Error.WriteLine("usage: engine-harness step|soak|gemm|train-soak [--config small|tiny] [--threads N] [--steps N] [--warmup N] [--gen-tokens N] [--gen-reps N] [--every N] [--model tiny|mini] [--rows N]");
            return 2;
        }
        var o = new Dictionary<string, string>();
        for (int i = 1; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"Expected an --option at argument {i + 1}, got '{args[i]}'.");
            o[args[i][2..]] = args[i + 1];
        }
        int Int(string key, int dflt) => o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : dflt;
        int threads = Int("threads", 2);
        torch.set_num_threads(threads);
        return args[0] switch
        {
            "step" => Step(o.GetValueOrDefault("config", "small"), threads, Int("steps", 8), Int("warmup", 2), Int("gen-tokens", 64), Int("gen-reps", 3)),
            "soak" => Soak(Int("steps", 1000), Int("every", 100)),
            "train-soak" => TrainerSoak.Run(o.GetValueOrDefault("model", "mini"), Int("steps", 2000), Int("every", 100), Int("rows", 500)),
            _ => Gemm(threads, Int("n", 1024), Int("reps", 10)),
        };
    }

    private static int Step(string config, int threads, int steps, int warmup, int genTokens, int genReps)
    {
        using var benchCase = EngineBenchCase.Create(config);
        using var trainer = new EngineTrainer(benchCase);
        var stepMs = new List<double>();
        var cpuMs = new List<double>();
        var self = Process.GetCurrentProcess();
        var losses = new List<float>();
        for (int i = 0; i < warmup + steps; i++)
        {
            self.Refresh();
            var c0 = self.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            losses.Add(trainer.TrainStep());
            double wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            self.Refresh();
            if (i >= warmup)
            {
                stepMs.Add(wall);
                cpuMs.Add((self.TotalProcessorTime - c0).TotalMilliseconds);
            }
        }
        trainer.Generate(2);   // warm-up, as the Python side
        var genS = new List<double>();
        var prefillS = new List<double>();
        for (int r = 0; r < genReps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            trainer.Generate(1);
            prefillS.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            t0 = Stopwatch.GetTimestamp();
            if (trainer.Generate(genTokens) != genTokens) throw new InvalidOperationException("generate returned the wrong length");
            genS.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        double g = Median(genS), p = Median(prefillS);
        var result = new Dictionary<string, object?>
        {
            ["side"] = "NanoVlm.Engine (C#)", ["config"] = config,
            ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(), ["dotnet"] = Environment.Version.ToString(),
            ["threads"] = torch.get_num_threads(), ["interop_threads"] = torch.get_num_interop_threads(),
            ["params"] = trainer.Model.parameters().Sum(t => t.numel()) - benchCase.Config.LmVocabSize * (long)benchCase.Config.LmHiddenDim,
            ["tokens"] = benchCase.InputIds.shape[1], ["tiles"] = benchCase.Tiles.shape[0],
            ["step_ms"] = stepMs.Select(x => Math.Round(x, 2)).ToArray(), ["step_ms_median"] = Math.Round(Median(stepMs), 2),
            ["step_cpu_ms"] = cpuMs.Select(x => Math.Round(x, 2)).ToArray(), ["step_cpu_ms_median"] = Math.Round(Median(cpuMs), 2),
            ["first_loss"] = losses[0], ["last_loss"] = losses[^1],
            ["gen_tokens"] = genTokens, ["gen_s"] = genS.Select(x => Math.Round(x, 4)).ToArray(),
            ["prefill_1tok_s"] = prefillS.Select(x => Math.Round(x, 4)).ToArray(),
            ["gen_tok_per_s"] = Math.Round(genTokens / g, 2),
            ["decode_tok_per_s"] = g > p ? Math.Round((genTokens - 1) / (g - p), 2) : null,
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    // libtorch's fp32 matmul rate: what most of the small configuration's step time is.
    private static int Gemm(int threads, int n, int reps)
    {
        using var a = torch.randn(n, n);
        using (a.matmul(a)) { }
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++) using (a.matmul(a)) { }
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Console.WriteLine(JsonSerializer.Serialize(new { side = "NanoVlm.Engine (C#)", threads, n, gflops = Math.Round(2.0 * n * n * n * reps / s / 1e9, 2) }));
        return 0;
    }

    private static int Soak(int steps, int every)
    {
        using var benchCase = EngineBenchCase.Create("tiny");
        using var trainer = new EngineTrainer(benchCase);
        var rows = new List<Dictionary<string, object>>();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i <= steps; i++)
        {
            if (i % every == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                rows.Add(new Dictionary<string, object>
                {
                    ["step"] = i, ["managed_bytes"] = GC.GetTotalMemory(forceFullCollection: true),
                    ["rss_bytes"] = RssBytes(), ["gen0"] = GC.CollectionCount(0), ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(t0).TotalSeconds, 2),
                });
                Console.Error.WriteLine(JsonSerializer.Serialize(rows[^1]));
            }
            if (i < steps) trainer.TrainStep();
        }
        Console.WriteLine(JsonSerializer.Serialize(new { side = "NanoVlm.Engine (C#)", config = "tiny", steps, every, samples = rows }));
        return 0;
    }

    // VmRSS of /proc/self/status (Linux); Environment.WorkingSet elsewhere.
    internal static long RssBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return Environment.WorkingSet;
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return Environment.WorkingSet;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
