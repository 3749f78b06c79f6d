using System.Text.Json;
using static NanoVlm.Evaluation.Tests.FixtureRows;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Prompts equal lmms-eval's doc_to_text + nanoVLM's wrapper formatting on the same synthetic documents.</summary>
public class PromptParityTests
{
    internal static EvalDocument ToDocument(JsonElement doc, string source) =>
        new(doc.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
        {
            JsonValueKind.String => (object?)p.Value.GetString(),
            JsonValueKind.Number => p.Value.GetInt64(),
            JsonValueKind.Array => p.Value.EnumerateArray().Select(x => x.GetString()!).ToList(),
            JsonValueKind.True => "has-image",
            JsonValueKind.False or JsonValueKind.Null => null,
            _ => throw new InvalidDataException(p.Name),
        }), source);

    [Fact]
    public void EveryTaskPromptMatchesTheWrapper()
    {
        var rows = Read("prompts");
        Assert.Equal(EvalTasks.Names.Order(), rows.Select(r => r.Str("task")).Distinct().Order());
        AssertAll(rows.Select((r, i) => (r, i)), x =>
        {
            var (r, i) = x;
            var task = EvalTasks.Get(r.Str("task"));
            var doc = ToDocument(r.GetProperty("doc"), $"prompts.jsonl row {i}");
            var images = r.GetProperty("image_strings").EnumerateArray().Select(s => s.GetString()!).ToList();
            var columns = r.GetProperty("image_columns").EnumerateArray().Select(s => s.GetString()!).ToList();
            string context = task.DocToText(doc);
            string user = BenchmarkFormatting.For(task.Name).FormatUserText(context);
            string prompt = task.Prompt(doc, images);
            if (context != r.Str("context")) return $"{task.Name} row {i}: context {Show(context)} vs {Show(r.Str("context"))}";
            if (user != r.Str("user_text")) return $"{task.Name} row {i}: user text {Show(user)} vs {Show(r.Str("user_text"))}";
            if (prompt != r.Str("prompt")) return $"{task.Name} row {i}: prompt {Show(prompt)} vs {Show(r.Str("prompt"))}";
            if (!task.ImageColumns(doc).SequenceEqual(columns)) return $"{task.Name} row {i}: images [{string.Join(",", task.ImageColumns(doc))}] vs [{string.Join(",", columns)}]";
            return task.MaxNewTokens == (int)r.Num("max_new_tokens") ? null : $"{task.Name}: max_new_tokens {task.MaxNewTokens} vs {r.Num("max_new_tokens")}";
        }, 120);
    }

    [Fact]
    public void ChartQaGetsNoFormattingBecauseNanoVlmsKeyIsChartvqa()
    {
        Assert.Same(BenchmarkFormatting.None, BenchmarkFormatting.For("chartqa"));
        Assert.StartsWith("For the question below", BenchmarkFormatting.For("chartvqa").UserPrefix);
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n", NanoVlmPrompt.Build("chartqa", "Q", []));
    }

    [Fact]
    public void MissingColumnsAndBadOptionsAreNamed()
    {
        var doc = new EvalDocument(new Dictionary<string, object?> { ["question"] = "q" }, "mmstar.parquet row 7");
        var e = Assert.Throws<InvalidDataException>(() => EvalTasks.Get("mmstar").Score([doc], ["A"]));
        Assert.Contains("mmstar.parquet row 7", e.Message);
        Assert.Contains("'category'", e.Message);
        var mmmu = new EvalDocument(new Dictionary<string, object?>
        {
            ["question"] = "q", ["question_type"] = "multiple-choice", ["options"] = "['a', 'b'", ["id"] = "validation_Art_1",
        }, "mmmu row 3");
        var o = Assert.Throws<InvalidDataException>(() => EvalTasks.Get("mmmu_val").DocToText(mmmu));
        Assert.Contains("mmmu row 3: column 'options'", o.Message);
        var u = Assert.Throws<ArgumentException>(() => EvalTasks.Get("mmbench"));
        Assert.Contains("mmstar", u.Message);
        Assert.Throws<ArgumentException>(() => EvalTasks.Get("mmstar").Score([doc], []));
    }
}
