using System.Text.Json;
using NanoVlm.Testing;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Result files byte for byte as nanoVLM's run_evaluation.py / merge_eval_results.py write them.</summary>
public sealed class ResultFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-eval-results-").FullName;
    private static readonly JsonElement Cases = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("eval", "result_files.json"))).RootElement;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PartsAreWrittenAsRunEvaluationWritesThem()
    {
        int n = 0;
        foreach (var c in Cases.GetProperty("run_evaluation").EnumerateArray())
        {
            var entries = new List<KeyValuePair<string, double>>();
            foreach (var task in c.GetProperty("lmms_results").EnumerateObject())
                foreach (var metric in task.Value.EnumerateObject())
                    if (metric.Value.ValueKind == JsonValueKind.Number) // run_evaluation keeps int/float values only
                        entries.Add(new(EvalResultFiles.ResultKey(task.Name, metric.Name), metric.Value.GetDouble()));
            string path = EvalResultFiles.WritePart(_dir, c.GetProperty("run_name").GetString()!, c.GetProperty("global_step").GetInt64(),
                c.GetProperty("tasks").GetString()!, entries);
            Assert.Equal(Path.Combine(_dir, "runA", c.GetProperty("file").GetString()!), path);
            Assert.Equal(c.GetProperty("text").GetString(), File.ReadAllText(path));
            n++;
        }
        Assert.Equal(6, n);
    }

    private JsonElement MergeCase => Cases.GetProperty("merge")[0];

    private string WriteParts()
    {
        var run = Path.Combine(_dir, "runA");
        Directory.CreateDirectory(run);
        foreach (var part in MergeCase.GetProperty("parts").EnumerateObject())
            File.WriteAllText(Path.Combine(run, part.Name), part.Value.GetString());
        File.WriteAllText(Path.Combine(run, "step_5000_mmstar.json"), "{\"global_step\": 5000, \"results\": {\"x\": 1}}"); // another step
        return run;
    }

    [Fact]
    public void MergeMatchesMergeEvalResults()
    {
        var run = WriteParts();
        var report = EvalResultFiles.Merge(_dir, "runA", 500);
        Assert.True(report.Complete);
        Assert.Equal(Path.Combine(run, "step_500.json"), report.MergedPath);
        Assert.Equal(4, report.MergedParts.Count);
        Assert.Equal(MergeCase.GetProperty("merged").GetString(), File.ReadAllText(report.MergedPath!));
        Assert.Equal(["step_500.json", "step_5000_mmstar.json"], Directory.EnumerateFiles(run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CorruptPartsAreReportedByNameAndLeftInPlace()
    {
        var run = WriteParts();
        File.WriteAllText(Path.Combine(run, "step_500_broken.json"), "{\"global_step\": 500, \"results\": {\"a\": 0.5,");
        File.WriteAllText(Path.Combine(run, "step_500_noresults.json"), "{\"global_step\": 500}");
        var report = EvalResultFiles.Merge(_dir, "runA", 500);
        Assert.False(report.Complete);
        Assert.Equal([Path.Combine(run, "step_500_broken.json"), Path.Combine(run, "step_500_noresults.json")], report.CorruptParts.Select(c => c.Path));
        Assert.Contains("not valid JSON", report.CorruptParts[0].Reason);
        Assert.Contains("\"results\"", report.CorruptParts[1].Reason);
        Assert.True(File.Exists(Path.Combine(run, "step_500_broken.json")));
        Assert.True(File.Exists(Path.Combine(run, "step_500_noresults.json")));
        Assert.Equal(MergeCase.GetProperty("merged").GetString(), File.ReadAllText(report.MergedPath!)); // the good parts, as Python merges them

        // Fixing the part and merging again adds its results to the merged file instead of replacing it.
        File.WriteAllText(Path.Combine(run, "step_500_broken.json"), "{\"global_step\": 500, \"results\": {\"late_metric\": NaN, \"mmmu_val_mmmu_acc\": 0.25}}");
        File.Delete(Path.Combine(run, "step_500_noresults.json"));
        var again = EvalResultFiles.Merge(_dir, "runA", 500);
        Assert.True(again.Complete);
        var text = File.ReadAllText(again.MergedPath!);
        Assert.Contains("\"mmstar_math\": 0.1", text);
        Assert.Contains("\"mmmu_val_mmmu_acc\": 0.25", text);
        Assert.Contains("\"late_metric\": NaN", text);
        var merged = EvalResultFiles.ReadMerged(run, out var unreadable);
        Assert.Empty(unreadable);
        var (step, results) = Assert.Single(merged);
        Assert.Equal(500, step);
        Assert.Equal(3, results.Single(r => r.Key == "custom_count").Value);
        Assert.DoesNotContain(results, r => r.Key == "note"); // strings are not logged
    }

    [Fact]
    public void NothingToMergeWritesNothing()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        var report = EvalResultFiles.Merge(_dir, "empty", 3);
        Assert.Null(report.MergedPath);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir, "empty")));
        Assert.Throws<DirectoryNotFoundException>(() => EvalResultFiles.Merge(_dir, "no-such-run", 3));
    }

    [Fact]
    public void KeysAndNamesFollowTheScripts()
    {
        Assert.Equal("docvqa_val_anls_stderr", EvalResultFiles.ResultKey("docvqa_val", "anls_stderr,none"));
        Assert.Equal("mmstar_coarse perception", EvalResultFiles.ResultKey("mmstar", "coarse perception"));
        Assert.EndsWith(Path.Combine("r", "step_12_lmms-lab_x,mme.json"), EvalResultFiles.PartPath("out", "r", 12, "lmms-lab/x,mme"));
        var text = EvalResultFiles.Format(1, EvalResultFiles.ResultsOf("t", new Dictionary<string, double> { ["a"] = 1, ["b"] = double.NaN }));
        Assert.Equal("{\n    \"global_step\": 1,\n    \"results\": {\n        \"t_a\": 1.0,\n        \"t_b\": NaN\n    }\n}", text);
        Assert.Equal("{\n    \"global_step\": 2,\n    \"results\": {}\n}", EvalResultFiles.Format(2, []));
    }
}
