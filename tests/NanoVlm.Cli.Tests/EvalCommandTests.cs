using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Evaluation;
using NanoVlm.Loader.Text;
using static NanoVlm.Cli.Tests.CliRunner;
using static TorchSharp.torch;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm eval</c> and <c>eval merge</c> in-process: a tiny random checkpoint with the built-in tokenizer on
/// small parquet files in three task layouts, checked against the model's own one-prompt-at-a-time greedy answers.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nanovlm-eval-cli-").FullName;
    private readonly string _checkpoint;
    private readonly string _data;
    private readonly string _out;
    private readonly VlmConfig _config;

    public EvalCommandTests()
    {
        var tok = VlmTokenizer.LoadDefault();
        _config = new VlmConfig
        {
            VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
            LmHiddenDim = 32, LmInterDim = 64, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tok.VocabularySize,
            MpPixelShuffleFactor = 2, MpImageTokenLength = 4, MaxImgSize = 64, LmTokenizer = "tiny/tokenizer",
        };
        _checkpoint = Path.Combine(_root, "myrun", "step_120");
        Directory.CreateDirectory(_checkpoint);
        manual_seed(5);
        using (var model = new VisionLanguageModel(_config, tok.ImageTokenId))
        {
            // At its initial scale a tied-head model repeats the prompt's last token whatever the image or question;
            // larger block weights make its answers depend on the document, so order and batching checks can fail.
            using (no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.Contains("blocks", StringComparison.Ordinal) || name.StartsWith("MP", StringComparison.Ordinal)) p.mul_(Scale);
            Checkpoint.Save(model, _checkpoint);
        }
        _data = Path.Combine(_root, "data");
        _out = Path.Combine(_root, "eval_results");
        EvalTestData.WriteDocVqa(_data);
        EvalTestData.WriteMmstar(_data);
        EvalTestData.WriteScienceQa(_data);
    }

    private const double Scale = 6;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string[] Args(string tasks, params string[] more) =>
        ["eval", "--checkpoint", _checkpoint, "--tasks", tasks, "--data-dir", _data, "--out", _out, "--tokenizer", "default", "--device", "cpu", .. more];

    /// <summary>The answers the model gives each document alone (no padding, no batching), built without the Evaluator:
    /// images → grids → one image string per image → the task's prompt → ids with special tokens → greedy generate.</summary>
    private List<string> ExpectedAnswers(EvalTask task, IReadOnlyList<EvalDocument> docs)
    {
        var tok = VlmTokenizer.LoadDefault();
        var encoder = new PromptEncoder(_config, tok);
        using var model = Checkpoint.Load(_checkpoint, tok.ImageTokenId);
        var answers = new List<string>();
        foreach (var doc in docs)
        {
            var images = encoder.EncodeImages(task.ImageColumns(doc).Select(c => (EvalDatasets.ImageBytes(doc, c), c)).ToList());
            var strings = images.Grids.Select(g => ImageTokenString.Build([g], _config.MpImageTokenLength)).ToList();
            Assert.All(strings, s => Assert.DoesNotContain("<image:", s));
            int[] ids = tok.EncodeToIds(task.Prompt(doc, strings), addSpecialTokens: true);
            Assert.Equal(images.TileCount * _config.MpImageTokenLength, ids.Count(i => i == tok.ImageTokenId));
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
            using var tiles = images.TileCount > 0 ? tensor(images.Tiles, [images.TileCount, 3, _config.VitImgSize, _config.VitImgSize]) : null;
            using var output = model.Generate(input, tiles, null, new GenerationOptions { Greedy = true, MaxNewTokens = task.MaxNewTokens, EosTokenId = tok.EosTokenId });
            answers.Add(CheckpointTokenizer.DecodeAnswer(tok, output.data<long>().ToArray().Select(v => (int)v).ToArray()));
        }
        return answers;
    }

    private List<EvalDocument> Docs(string task, string path) => EvalDatasets.ReadParquet(task, Path.Combine(_data, path)).ToList();

    [Fact]
    public void The_result_part_is_the_tasks_score_of_the_models_own_greedy_answers()
    {
        var (code, stdout, stderr) = Invoke(Args("docvqa_val,mmstar,scienceqa", "--batch-size", "2"));
        Assert.True(code == 0, stderr);

        var expected = new List<KeyValuePair<string, double>>();
        foreach (var (name, path) in new[] { ("docvqa_val", "docvqa_val"), ("mmstar", "mmstar.parquet"), ("scienceqa", "scienceqa") })
        {
            var task = EvalTasks.Get(name);
            var docs = Docs(name, path);
            expected.AddRange(EvalResultFiles.ResultsOf(name, task.Score(docs, ExpectedAnswers(task, docs))));
        }
        // Run and step come from the trainer's {run}/step_{N} checkpoint folder.
        string part = EvalResultFiles.PartPath(_out, "myrun", 120, "docvqa_val,mmstar,scienceqa");
        Assert.Equal(EvalResultFiles.Format(120, expected), File.ReadAllText(part));
        Assert.Contains("docvqa_val_anls", File.ReadAllText(part));
        Assert.Contains("mmstar_average", File.ReadAllText(part));

        // The table lists every metric; one progress line per chunk on stderr (docvqa 5 docs in chunks of 2 = 3).
        Assert.Contains("anls", stdout);
        Assert.Contains("written: " + part, stdout);
        Assert.Contains("[docvqa_val] chunk 3/3: 5/5 documents", stderr);
        Assert.Contains("[scienceqa] chunk 2/2: 3/3 documents", stderr);
    }

    [Fact]
    public void Batching_keeps_the_answers_and_the_document_order()
    {
        var tok = VlmTokenizer.LoadDefault();
        var task = EvalTasks.Get("docvqa_val");
        var docs = Docs("docvqa_val", "docvqa_val");
        var expected = ExpectedAnswers(task, docs);
        using var model = Checkpoint.Load(_checkpoint, tok.ImageTokenId);
        var evaluator = new Evaluator(model, _config, tok);
        var progress = new List<EvalChunkProgress>();
        var one = evaluator.Generate(task, docs, 1);
        var three = evaluator.Generate(task, docs, 3, progress.Add);
        Assert.Equal(expected, one);
        Assert.Equal(expected, three);
        Assert.Equal([3, 5], progress.Select(p => p.Done));
        // The check has teeth only if the documents' answers differ, so a shuffled order would show.
        Assert.True(expected.Distinct().Count() > 1, string.Join(" | ", expected));

        // lmms-eval's Collator: longest context first, ties by the context string.
        var contexts = docs.Select(task.DocToText).ToList();
        var order = Evaluator.CollatorOrder(contexts, c => tok.EncodeToIds(c, addSpecialTokens: true).Length);
        var lengths = order.Select(i => tok.EncodeToIds(contexts[i], addSpecialTokens: true).Length).ToList();
        Assert.Equal(lengths.OrderDescending(), lengths);
        Assert.NotEqual(Enumerable.Range(0, docs.Count), order);
        Assert.Equal([1, 0, 2], Evaluator.CollatorOrder(["b", "a", "c"], _ => 1));
        Assert.Equal([2, 0, 1], Evaluator.CollatorOrder(["a", "a", "long"], s => s.Length));
        Assert.Equal([0, 1], Evaluator.CollatorOrder(["\uFF21", "\U0001F600"], _ => 1)); // code points, not UTF-16 units
    }

    [Fact]
    public void Json_output_limit_and_explicit_run_and_step()
    {
        var (code, stdout, stderr) = Invoke(Args("docvqa_val", "--limit", "2", "--run-name", "other", "--global-step", "7", "--json"));
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        string part = EvalResultFiles.PartPath(_out, "other", 7, "docvqa_val");
        Assert.Equal(part, json.GetProperty("part").GetString());
        Assert.Equal(7, json.GetProperty("global_step").GetInt64());
        Assert.Equal(2, json.GetProperty("tasks").GetProperty("docvqa_val").GetProperty("documents").GetInt32());
        var task = EvalTasks.Get("docvqa_val");
        var docs = Docs("docvqa_val", "docvqa_val").Take(2).ToList();
        var metrics = task.Score(docs, ExpectedAnswers(task, docs));
        Assert.Equal(metrics["anls"], json.GetProperty("results").GetProperty("docvqa_val_anls").GetDouble());
        Assert.Equal(EvalResultFiles.Format(7, EvalResultFiles.ResultsOf("docvqa_val", metrics)), File.ReadAllText(part));
    }

    [Fact]
    public void Merge_combines_parts_and_fails_listing_corrupt_ones()
    {
        Assert.Equal(0, Invoke(Args("docvqa_val", "--limit", "1")).Code);
        Assert.Equal(0, Invoke(Args("scienceqa", "--limit", "1")).Code);
        var (code, stdout, stderr) = Invoke("eval", "merge", "--run-name", "myrun", "--global-step", "120", "--out", _out);
        Assert.True(code == 0, stderr);
        string merged = EvalResultFiles.MergedPath(_out, "myrun", 120);
        Assert.Contains("written: " + merged, stdout);
        var results = JsonDocument.Parse(File.ReadAllText(merged)).RootElement.GetProperty("results");
        Assert.True(results.TryGetProperty("docvqa_val_anls", out _));
        Assert.True(results.TryGetProperty("scienceqa_exact_match", out _));
        Assert.Single(Directory.GetFiles(Path.Combine(_out, "myrun")));

        string corrupt = EvalResultFiles.PartPath(_out, "myrun", 120, "mmstar");
        File.WriteAllText(corrupt, "{\"global_step\": 120, \"results\": {");
        (code, _, stderr) = Invoke("eval", "merge", "--run-name", "myrun", "--global-step", "120", "--out", _out);
        Assert.Equal(1, code);
        Assert.Contains(corrupt, stderr);
        Assert.True(File.Exists(corrupt));

        (code, _, stderr) = Invoke("eval", "merge", "--run-name", "nosuchrun", "--global-step", "1", "--out", _out);
        Assert.Equal(2, code);
        Assert.Contains("nosuchrun", stderr);
    }

    [Fact]
    public void Errors_name_the_task_the_file_and_the_column()
    {
        var (code, _, stderr) = Invoke(Args("docvqa_val,nosuchtask"));
        Assert.Equal(2, code);
        Assert.Contains("nosuchtask", stderr);
        Assert.Contains("mmstar", stderr); // lists the known tasks

        (code, _, stderr) = Invoke(Args("textvqa_val"));
        Assert.Equal(2, code);
        Assert.Contains("task 'textvqa_val'", stderr);
        Assert.Contains(Path.Combine(_data, "textvqa_val"), stderr);
        Assert.Contains("DATA_DIR/<task>", stderr);

        // A file of the wrong layout: the task, the file and the missing column, before the model is loaded.
        string bad = Path.Combine(_data, "chartqa", "test.parquet");
        EvalTestData.Write(bad, new Parquet.Schema.ParquetSchema(new Parquet.Schema.DataField<string>("question")),
            [new Dictionary<string, object> { ["question"] = "q" }]);
        (code, _, stderr) = Invoke(Args("chartqa"));
        Assert.Equal(2, code);
        Assert.Contains("task 'chartqa'", stderr);
        Assert.Contains(bad, stderr);
        Assert.Contains("column 'answer'", stderr);

        (code, _, stderr) = Invoke(["eval", "--tasks", "mmstar", "--data-dir", _data]);
        Assert.Equal(2, code);
        Assert.Contains("--checkpoint", stderr);
        (code, _, stderr) = Invoke(Args("mmstar", "--batch-size", "0"));
        Assert.Equal(2, code);
        Assert.Contains("--batch-size", stderr);
        Assert.False(Directory.Exists(_out));
    }

    [Fact]
    public void Own_jsonl_data_with_path_base64_and_no_image_is_scored_with_the_chosen_metric()
    {
        var tok = VlmTokenizer.LoadDefault();
        var encoder = new PromptEncoder(_config, tok);
        byte[] first = File.ReadAllBytes(NanoVlm.Testing.Fixtures.Path("decode", "png_gama_chrm_37x23.png"));
        byte[] second = File.ReadAllBytes(NanoVlm.Testing.Fixtures.Path("decode", "png_1bit_21x5.png"));
        Directory.CreateDirectory(Path.Combine(_data, "imgs"));
        File.WriteAllBytes(Path.Combine(_data, "imgs", "a.png"), first);
        (string Question, byte[][] Images)[] rows =
            [("What is the invoice total?", [first]), ("Who is the sender?", [second]), ("Say hello.", [])];

        // Each question alone through the model, the prompt written out by hand (chat template, no benchmark formatting).
        var expected = new List<string>();
        using (var model = Checkpoint.Load(_checkpoint, tok.ImageTokenId))
            foreach (var (question, images) in rows)
            {
                var encoded = encoder.EncodeImages(images.Select(b => (b, "img")).ToList());
                string prompt = "<|im_start|>user\n" + string.Concat(encoded.Grids.Select(g => ImageTokenString.Build([g], _config.MpImageTokenLength)))
                    + question + "<|im_end|>\n<|im_start|>assistant\n";
                int[] ids = tok.EncodeToIds(prompt, addSpecialTokens: true);
                using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
                using var tiles = encoded.TileCount > 0 ? tensor(encoded.Tiles, [encoded.TileCount, 3, _config.VitImgSize, _config.VitImgSize]) : null;
                using var output = model.Generate(input, tiles, null, new GenerationOptions { Greedy = true, MaxNewTokens = 8, EosTokenId = tok.EosTokenId });
                expected.Add(CheckpointTokenizer.DecodeAnswer(tok, output.data<long>().ToArray().Select(v => (int)v).ToArray()));
            }
        // The first reference is the model's own answer (ANLS 1 unless empty), the others differ.
        string[][] references = [[expected[0].Trim()], ["Acme Corporation", "ACME"], ["hello"]];
        string jsonl = Path.Combine(_data, "invoices.jsonl");
        File.WriteAllLines(jsonl,
        [
            JsonSerializer.Serialize(new { image = "imgs/a.png", question = rows[0].Question, answers = references[0] }),
            "",
            JsonSerializer.Serialize(new { images = new[] { "data:image/png;base64," + Convert.ToBase64String(second) }, question = rows[1].Question, answers = references[1] }),
            JsonSerializer.Serialize(new { question = rows[2].Question, answer = "hello" }),
        ]);

        var (code, stdout, stderr) = Invoke(["eval", "--checkpoint", _checkpoint, "--data", jsonl, "--metric", "anls", "--max-new-tokens", "8",
            "--batch-size", "2", "--out", _out, "--tokenizer", "default", "--device", "cpu", "--global-step", "3"]);
        Assert.True(code == 0, stderr);
        var scores = expected.Select((a, i) => AnlsMetric.Score(a, references[i])).ToList();
        Assert.Equal(1.0, scores[0]);
        var metrics = new Dictionary<string, double> { ["anls"] = LmmsAggregation.Mean(scores), ["anls_stderr"] = LmmsAggregation.MeanStderr(scores)!.Value };
        string part = EvalResultFiles.PartPath(_out, "myrun", 3, "invoices");
        Assert.Equal(EvalResultFiles.Format(3, EvalResultFiles.ResultsOf("invoices", metrics)), File.ReadAllText(part));
        Assert.Contains("invoices", stdout);

        // Bad rows name the file, the line and the key; a missing image file is named.
        File.WriteAllLines(jsonl, [JsonSerializer.Serialize(new { question = "q", answers = new[] { "a" } }), "{\"answers\": [\"a\"]}"]);
        (code, _, stderr) = Invoke(["eval", "--checkpoint", _checkpoint, "--data", jsonl, "--tokenizer", "default", "--out", _out]);
        Assert.Equal(2, code);
        Assert.Contains(jsonl + " line 2", stderr);
        Assert.Contains("'question'", stderr);
        File.WriteAllLines(jsonl, [JsonSerializer.Serialize(new { image = "imgs/missing.png", question = "q", answers = new[] { "a" } })]);
        (code, _, stderr) = Invoke(["eval", "--checkpoint", _checkpoint, "--data", jsonl, "--tokenizer", "default", "--out", _out]);
        Assert.Equal(2, code);
        Assert.Contains("missing.png", stderr);
        (code, _, stderr) = Invoke(["eval", "--checkpoint", _checkpoint, "--data", jsonl, "--metric", "bleu", "--tokenizer", "default"]);
        Assert.Equal(2, code);
        Assert.Contains("vqa_accuracy", stderr);
    }
}
