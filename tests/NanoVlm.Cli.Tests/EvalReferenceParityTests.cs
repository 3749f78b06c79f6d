using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Evaluation;
using NanoVlm.Loader.Text;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary>
/// End to end against nanoVLM's own evaluation: its lmms-eval wrapper (<c>NanoVLMWrapper.generate_until</c>,
/// eval/lmms_eval_wrapper.py at 4e0c096) ran the fixture checkpoint on the fixture documents with Debian's torch, and
/// lmms-eval's task functions scored the answers (<see cref="EvalReferenceFixture"/>). The same checkpoint and
/// documents, written as the tasks' parquet files, must give the same contexts, generation order, prompt ids,
/// answers and scores here.
/// </summary>
public sealed class EvalReferenceParityTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nanovlm-eval-parity-").FullName;
    private readonly string _data;

    public EvalReferenceParityTests()
    {
        _data = Path.Combine(_root, "data");
        EvalReferenceFixture.WriteParquet(_data);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static int BatchSize => EvalReferenceFixture.Expected.GetProperty("batch_size").GetInt32();

    private static Dictionary<string, double> Results(JsonElement task) =>
        task.GetProperty("results").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());

    [Fact]
    public void Evaluator_gives_the_wrappers_prompts_order_answers_and_lmms_evals_scores()
    {
        var tok = VlmTokenizer.LoadDefault();
        string ckpt = EvalReferenceFixture.Checkpoint;
        var config = VlmConfig.Read(Path.Combine(ckpt, Checkpoint.ConfigFile));
        using var model = Checkpoint.Load(ckpt, tok.ImageTokenId);
        var evaluator = new Evaluator(model, config, tok);
        Assert.Equal(8, EvalReferenceFixture.Tasks.Count);
        foreach (string name in EvalReferenceFixture.Tasks)
        {
            var expected = EvalReferenceFixture.Expected.GetProperty("tasks").GetProperty(name);
            var task = EvalTasks.Get(name);
            var docs = EvalDatasets.ReadParquet(name, Path.Combine(_data, name)).ToList();
            var want = expected.GetProperty("docs").EnumerateArray().ToList();
            Assert.Equal(want.Count, docs.Count);
            Assert.Equal(expected.GetProperty("max_new_tokens").GetInt32(), task.MaxNewTokens);

            var contexts = docs.Select(task.DocToText).ToList();
            Assert.Equal(want.Select(w => w.GetProperty("context").GetString()), contexts);
            var order = Evaluator.CollatorOrder(contexts, c => tok.EncodeToIds(c, addSpecialTokens: true).Length);
            Assert.Equal(expected.GetProperty("order").EnumerateArray().Select(e => e.GetInt32()), order);
            for (int i = 0; i < docs.Count; i++)
            {
                var ids = evaluator.EncodePrompt(task, docs[i]).Ids;
                Assert.True(want[i].GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).SequenceEqual(ids),
                    $"{name} document {i}: prompt ids differ; the wrapper's prompt: {want[i].GetProperty("prompt").GetString()}");
                // The wrapper's generated ids decode (skip_special_tokens) to its answer here too.
                int[] generated = [.. want[i].GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32())];
                Assert.Equal(want[i].GetProperty("generation").GetString(), CheckpointTokenizer.DecodeAnswer(tok, generated));
            }

            var answers = evaluator.Generate(task, docs, BatchSize);
            Assert.Equal(want.Select(w => w.GetProperty("generation").GetString()), answers);
            var scores = task.Score(docs, answers);
            Assert.Equal(Results(expected), scores);
        }
    }

    [Fact]
    public void Eval_command_writes_the_scores_lmms_eval_gave_the_wrappers_answers()
    {
        // Four layouts (the Evaluator test covers all eight); OCRBench's 128 new tokens would double the run.
        string[] names = ["docvqa_val", "textvqa_val", "chartqa", "mmmu_val"];
        string tasks = string.Join(",", names);
        string outDir = Path.Combine(_root, "eval_results");
        var (code, stdout, stderr) = Invoke("eval", "--checkpoint", EvalReferenceFixture.Checkpoint, "--tasks", tasks, "--data-dir", _data,
            "--batch-size", BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tokenizer", "default", "--device", "cpu",
            "--run-name", "parity", "--global-step", "1", "--out", outDir, "--log-samples");
        Assert.True(code == 0, stderr);
        var expected = names.SelectMany(t =>
            EvalResultFiles.ResultsOf(t, Results(EvalReferenceFixture.Expected.GetProperty("tasks").GetProperty(t)))).ToList();
        string part = EvalResultFiles.PartPath(outDir, "parity", 1, tasks);
        Assert.Equal(EvalResultFiles.Format(1, expected), File.ReadAllText(part));
        Assert.Contains("written: " + part, stdout);
        // Not all zero: the fixture's gold answers partly are the model's own answers.
        Assert.Contains(expected, kv => kv.Value > 0);

        // --log-samples: one line per document, task by task in document order, with the wrapper's prompt and answer.
        string samplesPath = Path.ChangeExtension(part, null) + ".samples.jsonl";
        Assert.Contains("samples: " + samplesPath, stdout);
        var lines = File.ReadAllLines(samplesPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var wantDocs = names.SelectMany(t => EvalReferenceFixture.Expected.GetProperty("tasks").GetProperty(t).GetProperty("docs").EnumerateArray()
            .Select((d, i) => (Task: t, Index: i, Doc: d))).ToList();
        Assert.Equal(wantDocs.Count, lines.Count);
        for (int k = 0; k < lines.Count; k++)
        {
            var (t, i, want) = wantDocs[k];
            var line = lines[k];
            Assert.Equal(t, line.GetProperty("task").GetString());
            Assert.Equal(i, line.GetProperty("index").GetInt32());
            Assert.Contains($"row {i}", line.GetProperty("source").GetString());
            Assert.Equal(want.GetProperty("context").GetString(), line.GetProperty("context").GetString());
            Assert.Equal(want.GetProperty("prompt").GetString(), line.GetProperty("prompt").GetString());
            Assert.Equal(want.GetProperty("generation").GetString(), line.GetProperty("prediction").GetString());
        }
        // Per-sample scores are the task's metrics over that document alone: DocVQA's first gold answer is the model's own.
        var firstDoc = lines.First(l => l.GetProperty("task").GetString() == "docvqa_val");
        Assert.Equal(1.0, firstDoc.GetProperty("scores").GetProperty("anls").GetDouble());
        Assert.Equal(JsonValueKind.Array, firstDoc.GetProperty("references").ValueKind);
        var mmmu = lines.Where(l => l.GetProperty("task").GetString() == "mmmu_val").ToList();
        Assert.Equal("A", mmmu[0].GetProperty("references").GetString());
        Assert.Equal(Results(EvalReferenceFixture.Expected.GetProperty("tasks").GetProperty("docvqa_val"))["anls"],
            lines.Where(l => l.GetProperty("task").GetString() == "docvqa_val").Average(l => l.GetProperty("scores").GetProperty("anls").GetDouble()), 12);

        // The merge takes the part and leaves the samples file alone.
        var merge = Invoke("eval", "merge", "--run-name", "parity", "--global-step", "1", "--out", outDir);
        Assert.True(merge.Code == 0, merge.Err);
        Assert.False(File.Exists(part));
        Assert.True(File.Exists(samplesPath));
        var merged = Assert.Single(EvalResultFiles.ReadMerged(Path.Combine(outDir, "parity"), out var unreadable));
        Assert.Empty(unreadable);
        Assert.Equal(1, merged.Step);
        Assert.Equal(expected, merged.Results);
    }
}
