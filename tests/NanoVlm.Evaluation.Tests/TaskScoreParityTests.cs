using static NanoVlm.Evaluation.Tests.FixtureRows;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Whole tasks: raw generations → lmms-eval's reported metrics (process_results + aggregation + stderr).</summary>
public class TaskScoreParityTests
{
    [Fact]
    public void EveryTaskScoresAsLmmsEval()
    {
        var rows = Read("task_scores");
        Assert.Equal(EvalTasks.Names.Where(n => n != "scienceqa_img").Order(), rows.Select(r => r.Str("task")).Distinct().Order());
        AssertAll(rows.Select((r, i) => (r, i)), x =>
        {
            var (r, i) = x;
            var task = EvalTasks.Get(r.Str("task"));
            var docs = r.GetProperty("docs").EnumerateArray().Select((d, k) => PromptParityTests.ToDocument(d, $"row {i} doc {k}")).ToList();
            var generations = r.GetProperty("generations").EnumerateArray().Select(g => g.GetString()!).ToList();
            var got = task.Score(docs, generations);
            var want = r.GetProperty("result").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            bool same = got.Count == want.Count && want.All(kv => got.TryGetValue(kv.Key, out var v) && v == kv.Value);
            return same ? null : $"{task.Name} row {i}: {string.Join(", ", got.Select(kv => $"{kv.Key}={kv.Value:R}"))} vs {string.Join(", ", want.Select(kv => $"{kv.Key}={kv.Value:R}"))}";
        }, 27);
    }
}
