using System.Globalization;
using System.Text.RegularExpressions;
using NanoVlm.Engine.Checkpoints;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>
/// The equivalence check of data-parallel training, whatever starts the ranks: 2 ranks × batch 4 for 5 optimizer steps
/// with gradient accumulation 2 give weights bitwise equal across ranks and within 1e-5 of one process on the combined
/// batch of 8 (the host's "reference" mode), for both objectives, with unequal labelled-token counts per rank and tied
/// weights.
/// </summary>
internal static partial class DataParallelEquivalence
{
    /// <summary>Runs the 2-rank jobs (<paramref name="start"/> gets the host's arguments) and the references, and compares.</summary>
    public static void Check(string dir, string data, Func<string[], IRankJob> start)
    {
        // nanoVLM's backbone rate: AdamW moves every weight by up to ~lr per step, rounding included (a near-zero
        // gradient element's rounding can flip its step), so the 1e-5 tolerance holds for rates of this size.
        string[] common = ["steps=5", "ga=2", "batch=4", "lr=5e-5"];
        var runs = new Dictionary<string, string>();
        foreach (var objective in new[] { "micro", "tokens" })
        {
            string output = Path.Combine(dir, objective);
            using (var job = start(["train", data, output, $"objective={objective}", .. common]))
            {
                Assert.True(job.WaitForExit(TimeSpan.FromMinutes(5)), "the 2-rank job did not end in 5 minutes:\n" + job.Output);
                Assert.True(job.ExitCode == 0, $"the 2-rank job failed ({job.ExitCode}):\n{job.Output}");
                runs[objective] = job.Output;
            }
            using (var reference = MpiJob.Single(["reference", data, output, $"objective={objective}", .. common]))
            {
                Assert.True(reference.WaitForExit(TimeSpan.FromMinutes(5)), "the reference did not end:\n" + reference.Output);
                Assert.True(reference.ExitCode == 0, $"the reference failed ({reference.ExitCode}):\n{reference.Output}");
                runs[objective + "/reference"] = reference.Output;
            }
        }

        // The ranks' micro-batches hold different numbers of labelled tokens (so the two objectives differ).
        var labelled = LabelledLine().Matches(runs["micro"]).Select(m => (Rank: m.Groups[1].Value, Batch: m.Groups[2].Value, Tokens: long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))).ToList();
        Assert.Contains(labelled, a => labelled.Any(b => a.Batch == b.Batch && a.Rank != b.Rank && a.Tokens != b.Tokens));
        // The tied head: the model trains with lm_tie_weights, so the reducer sees the embedding once.
        Assert.Contains("\"lm_tie_weights\": true", File.ReadAllText(Path.Combine(dir, "micro", "rank0", "config.json")));

        foreach (var objective in new[] { "micro", "tokens" })
        {
            string other = objective == "micro" ? "tokens" : "micro";
            using var rank0 = SafeTensorsFile.Open(Path.Combine(dir, objective, "rank0", "model.safetensors"));
            using var rank1 = SafeTensorsFile.Open(Path.Combine(dir, objective, "rank1", "model.safetensors"));
            using var single = SafeTensorsFile.Open(Path.Combine(dir, objective, "reference", "model.safetensors"));
            using var otherObjective = SafeTensorsFile.Open(Path.Combine(dir, other, "reference", "model.safetensors"));
            Assert.Equal(rank0.Tensors.Keys.Order(), rank1.Tensors.Keys.Order());
            double toSingle = 0, toOther = 0;
            foreach (var name in rank0.Tensors.Keys)
            {
                using var scope = NewDisposeScope();
                var a = rank0.View(name);
                Assert.True(a.bytes.SequenceEqual(rank1.View(name).bytes), $"{objective}: {name} differs between rank 0 and rank 1");
                toSingle = Math.Max(toSingle, (a - single.View(name)).abs().max().item<float>());
                toOther = Math.Max(toOther, (a - otherObjective.View(name)).abs().max().item<float>());
            }
            Assert.True(toSingle <= 1e-5, $"{objective}: 2 ranks vs one process: max |Δw| = {toSingle:E2}");
            Assert.True(toOther > 1e-4, $"{objective}: the other objective's weights are as close ({toOther:E2}): the test cannot tell them apart");

            // Pre-clip gradient norms, step by step.
            var dp = StepNorm().Matches(runs[objective]).Where(m => m.Groups[1].Value == "0").Select(m => double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)).ToList();
            var one = ReferenceNorm().Matches(runs[objective + "/reference"]).Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(5, dp.Count);
            Assert.Equal(5, one.Count);
            for (int i = 0; i < 5; i++) Assert.True(Math.Abs(dp[i] - one[i]) <= 1e-5 * one[i], $"{objective} step {i + 1}: grad_norm {dp[i]} vs {one[i]}");
        }
    }

    [GeneratedRegex(@"rank (\d) batch (\d+) labelled (\d+)")]
    private static partial Regex LabelledLine();

    [GeneratedRegex(@"rank (\d) step (\d+) loss \S+ grad_norm (\S+)")]
    private static partial Regex StepNorm();

    [GeneratedRegex(@"reference step (\d+) grad_norm (\S+)")]
    private static partial Regex ReferenceNorm();
}
