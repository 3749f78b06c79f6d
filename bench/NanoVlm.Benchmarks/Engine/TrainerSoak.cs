using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using TorchSharp;

namespace NanoVlm.Benchmarks.Engine;

/// <summary>
/// <c>engine-harness train-soak</c>: the whole training path of <c>nanovlm train</c> (sample data → DataLoader with its
/// workers and pinned packs → <see cref="Trainer"/> → <see cref="TrainingLog"/> metrics.jsonl + TensorBoard) for many
/// steps in one process, sampling the managed heap after a full blocking GC and VmRSS every <c>--every</c> steps.
/// <c>--model tiny</c> is the <c>tiny</c> preset as is; <c>--model mini</c> keeps the preset's loader, sequence length,
/// tiling and loop but shrinks every width to a minimum, so that long soaks cost less CPU (a per-step leak in the loop,
/// the loader or the logs does not depend on the model's width).
/// </summary>
internal static class TrainerSoak
{
    public static int Run(string model, int steps, int every, int rows)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"nanovlm-train-soak-{Environment.ProcessId}");
        try
        {
            SampleDataWriter.Write(Path.Combine(dir, "data"), new SampleDataOptions { Rows = rows, Shards = 2, Formats = SampleDataFormats.Parquet });
            var tokenizer = VlmTokenizer.LoadDefault();
            var preset = TrainingPresets.Get("tiny", tokenizer);
            var config = preset.Model;
            if (model == "mini")
            {
                config.VitHiddenDim = 8; config.VitInterDim = 16; config.VitNHeads = 2; config.VitNBlocks = 1;
                config.LmHiddenDim = 8; config.LmInterDim = 16; config.LmNHeads = 2; config.LmNKvHeads = 1; config.LmNBlocks = 1;
            }
            else if (model != "tiny") throw new ArgumentException($"--model {model}: tiny or mini");
            var options = preset.Training with { MaxTrainingSteps = steps, EvalInterval = 0 };
            torch.manual_seed(0);
            using var vlm = new VisionLanguageModel(config, tokenizer.ImageTokenId);
            string runDir = Path.Combine(dir, "run");
            using var trainer = new Trainer(vlm, options, runDir);
            using var log = new TrainingLog(runDir);
            var samples = new List<Dictionary<string, object>>();
            long t0 = Stopwatch.GetTimestamp();
            void Sample(long step)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                samples.Add(new Dictionary<string, object>
                {
                    ["step"] = step, ["managed_bytes"] = GC.GetTotalMemory(forceFullCollection: true), ["rss_bytes"] = EngineHarness.RssBytes(),
                    ["gen0"] = GC.CollectionCount(0), ["gen2"] = GC.CollectionCount(2),
                    ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(t0).TotalSeconds, 2),
                });
                Console.Error.WriteLine(JsonSerializer.Serialize(samples[^1]));
            }
            double lastLoss = double.NaN;
            trainer.StepCompleted += m =>
            {
                log.Write(m);
                lastLoss = m.BatchLoss;
                if (m.Step % every == 0) Sample(m.Step);
            };
            using var source = RowSources.Open(Path.Combine(dir, "data"));
            using var loader = new DataLoader(source, TrainingPresets.LoaderFor(config, preset.Loader.BatchSize), null, tokenizer);
            Sample(0);
            var summary = trainer.Run(loader);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                side = "NanoVlm.Engine (C#)", harness = "train-soak", model, parameters = vlm.parameters().Sum(p => p.numel()),
                threads = torch.get_num_threads(), steps = summary.Steps, every, rows, last_loss = lastLoss,
                seconds = Math.Round(summary.Seconds, 1), samples,
            }));
            return 0;
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
