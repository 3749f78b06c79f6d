using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Evaluation;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using Parquet.Schema;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm eval --data</c> on FineVision-layout parquet (training data as an evaluation set), with
/// <c>--log-samples</c>, on the e2e fixture's tiny checkpoint.</summary>
public sealed class EvalOwnDataTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nanovlm-eval-own-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string[] Args(string data, params string[] more) =>
        ["eval", "--checkpoint", EvalReferenceFixture.Checkpoint, "--data", data, "--tokenizer", "default", "--device", "cpu",
         "--out", Path.Combine(_root, "eval_results"), "--run-name", "fv", .. more];

    [Fact]
    public void FineVision_rows_are_scored_with_the_first_turns_answer_as_reference()
    {
        string data = Path.Combine(_root, "data");
        Assert.Equal(0, Invoke("sample-data", "--out", data, "--rows", "5", "--seed", "4").Code);
        string shard = Directory.GetFiles(data, "*.parquet").Single();
        var (code, stdout, stderr) = Invoke(Args(shard, "--metric", "anls", "--max-new-tokens", "6", "--batch-size", "2", "--json", "--log-samples"));
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        string name = Path.GetFileNameWithoutExtension(shard);

        // Independent of the parquet reader: the generator's rows, their first turn and all their images.
        var rows = SyntheticSampleGenerator.Generate(0, 5, seed: 4);
        var questions = rows.Select(r => new EvalQuestion(r.Text.Texts![0].User.ToString(), r.Images.Select((im, k) => (im.Encoded, $"image {k}")).ToList())).ToList();
        var tok = VlmTokenizer.LoadDefault();
        var config = VlmConfig.Read(Path.Combine(EvalReferenceFixture.Checkpoint, Checkpoint.ConfigFile));
        using var model = Checkpoint.Load(EvalReferenceFixture.Checkpoint, tok.ImageTokenId);
        var answers = new Evaluator(model, config, tok).GenerateAnswers(name, questions, 6, 1);

        var samples = File.ReadAllLines(json.GetProperty("samples").GetString()!).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(5, samples.Count);
        var scores = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            string reference = rows[i].Text.Texts![0].Assistant.ToString();
            Assert.Equal(rows[i].Text.Texts![0].User.ToString(), samples[i].GetProperty("context").GetString());
            Assert.Equal([reference], samples[i].GetProperty("references").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(answers[i], samples[i].GetProperty("prediction").GetString());
            Assert.Contains($"row {i}", samples[i].GetProperty("source").GetString());
            double anls = AnlsMetric.Score(answers[i].Trim(), [reference]);
            Assert.Equal(anls, samples[i].GetProperty("scores").GetProperty("anls").GetDouble());
            scores.Add(anls);
        }
        Assert.Equal(LmmsAggregation.Mean(scores), json.GetProperty("results").GetProperty(name + "_anls").GetDouble(), 12);
        Assert.Equal(5, json.GetProperty("tasks").GetProperty(name).GetProperty("documents").GetInt32());
        // The prompt is the question in nanoVLM's chat template after the images' placeholder strings.
        string prompt = samples[0].GetProperty("prompt").GetString()!;
        Assert.StartsWith("<|im_start|>user\n", prompt);
        Assert.EndsWith(rows[0].Text.Texts![0].User.ToString() + "<|im_end|>\n<|im_start|>assistant\n", prompt);
        Assert.Equal(rows[0].Images.Count > 0, prompt.Contains("<|global_image|>", StringComparison.Ordinal));
    }

    [Fact]
    public void A_FineVision_row_without_a_first_turn_is_refused_naming_shard_row_and_column()
    {
        var schema = new ParquetSchema(
            new ListField("images", new StructField("element", new DataField<byte[]>("bytes"), new DataField<string>("path"))),
            new ListField("texts", new StructField("element", new DataField<string>("user"), new DataField<string>("assistant"))),
            new DataField<string>("source"));
        byte[] png = Convert.FromBase64String(EvalReferenceFixture.FirstImageBase64);
        var image = new List<Dictionary<string, object>> { new() { ["bytes"] = png, ["path"] = "a.png" } };
        var rows = new List<Dictionary<string, object>>
        {
            new() { ["images"] = image, ["texts"] = new List<Dictionary<string, object>> { new() { ["user"] = "What is it?", ["assistant"] = "a cat" } }, ["source"] = "s" },
            new() { ["images"] = image, ["texts"] = new List<Dictionary<string, object>>(), ["source"] = "s" },
        };
        string file = Path.Combine(_root, "fv", "bad.parquet");
        EvalTestData.Write(file, schema, rows);
        var (code, _, stderr) = Invoke(Args(file, "--metric", "exact_match"));
        Assert.Equal(2, code);
        Assert.Contains("bad.parquet row 1: column 'texts'", stderr);
        // The first row alone is a valid set.
        var (ok, _, err) = Invoke(Args(file, "--metric", "exact_match", "--limit", "1", "--max-new-tokens", "2"));
        Assert.True(ok == 0, err);
    }

    /// <summary>An empty reference answer cannot be scored: refused like a missing (null) one, which the reader hands
    /// on as the same empty text.</summary>
    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void A_FineVision_row_without_an_assistant_text_is_refused_naming_shard_row_and_column(string? assistant)
    {
        var schema = new ParquetSchema(
            new ListField("texts", new StructField("element", new DataField<string>("user"), new DataField<string>("assistant"))));
        var rows = new List<Dictionary<string, object>>
        {
            new() { ["texts"] = new List<Dictionary<string, object>> { new() { ["user"] = "What is it?", ["assistant"] = "a cat" } } },
            new() { ["texts"] = new List<Dictionary<string, object>> { new() { ["user"] = "And this?", ["assistant"] = assistant! } } },
        };
        string file = Path.Combine(_root, "fv", $"no-answer-{assistant is null}.parquet");
        EvalTestData.Write(file, schema, rows);
        var (code, _, stderr) = Invoke(Args(file, "--metric", "exact_match"));
        Assert.Equal(2, code);
        Assert.Contains($"no-answer-{assistant is null}.parquet row 1: column 'texts' turn 0 has no 'assistant' text", stderr);
    }

    [Fact]
    public void A_parquet_file_without_the_FineVision_columns_is_refused_naming_file_and_column()
    {
        // A benchmark file (DocVQA layout: no 'texts' column) given as --data.
        string data = Path.Combine(_root, "bench");
        EvalReferenceFixture.WriteParquet(data);
        string file = Path.Combine(data, "docvqa_val", "data.parquet");
        var (code, _, stderr) = Invoke(Args(file, "--metric", "anls"));
        Assert.Equal(2, code);
        Assert.Contains(file, stderr);
        Assert.Contains("texts", stderr);
    }
}
