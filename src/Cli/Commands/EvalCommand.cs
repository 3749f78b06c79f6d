using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using NanoVlm.Engine;
using NanoVlm.Engine.Runtime;
using NanoVlm.Evaluation;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm eval</c>: nanoVLM's run_evaluation.py without lmms-eval — a checkpoint on local copies of the
/// benchmarks' parquet files, prompts and batching as nanoVLM's lmms-eval wrapper, lmms-eval's scores, the result
/// part <c>{out}/{run}/step_{N}_{tasks}.json</c>; <c>nanovlm eval merge</c> is merge_eval_results.py.
/// </summary>
internal static partial class EvalCommand
{
    private const string DataLayoutHelp =
        "Folder with one entry per task: DATA_DIR/<task>/ holding the task's parquet file(s) (any depth, read in ordinal " +
        "path order) or a single file DATA_DIR/<task>.parquet, in the layout of the data set lmms-eval loads " +
        "(e.g. DATA_DIR/docvqa_val/ = lmms-lab/DocVQA, config DocVQA, validation split).";

    /// <summary>Builds the command with its <c>merge</c> subcommand.</summary>
    public static Command Create()
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "Checkpoint folder (config.json + model.safetensors)." };
        var tasks = new Option<string>("--tasks") { Description = $"Comma-separated lmms-eval tasks: {string.Join(", ", EvalTasks.Names)}." };
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = DataLayoutHelp };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N documents of each task (lmms-eval's --limit)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Requests generated together (left-padded).", DefaultValueFactory = _ => 64 };
        var runName = new Option<string?>("--run-name") { Description = "Run folder under --out. Default: the checkpoint's parent folder when the checkpoint is a step_N folder, else the checkpoint folder's name." };
        var globalStep = new Option<long?>("--global-step") { Description = "Step in the result file name. Default: N of a step_N checkpoint folder, else 0." };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Results root.", DefaultValueFactory = _ => new DirectoryInfo("eval_results") };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "tokenizer.json or SentencePiece .model ('default' = the built-in one). Omitted: tokenizer.json / tokenizer.model in the checkpoint folder.",
        };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {part, global_step, run_name, results, tasks} instead of the table." };
        var data = new Option<string?>("--data")
        {
            Description = "Own data instead of --tasks/--data-dir: JSONL, one {\"image\": path or data:…;base64,…, \"question\": …, \"answers\": […]} per line " +
                "(\"images\": […] for several, \"answer\": … for one reference; paths relative to the file); or FineVision-layout parquet " +
                "(a .parquet file, a folder of shards or a glob): each row's first user turn is the question, its assistant answer the reference. " +
                "Results are named after the file.",
        };
        var metric = new Option<string>("--metric") { Description = $"Metric for --data: {string.Join(", ", CustomEvalSet.Metrics)}.", DefaultValueFactory = _ => "anls" };
        var logSamples = new Option<bool>("--log-samples")
        {
            Description = "Also write every document's context, prompt, prediction, references and scores as JSONL beside the result part ({part}.samples.jsonl).",
        };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate per answer, for --data (benchmarks use their own).", DefaultValueFactory = _ => 32 };

        var command = new Command("eval", "Evaluate a checkpoint on lmms-eval benchmarks as nanoVLM's evaluation does (greedy, scores as lmms-eval).")
        {
            checkpoint, tasks, dataDir, limit, batchSize, runName, globalStep, outDir, tokenizer, device, json, data, metric, maxNew, logSamples,
        };
        command.Subcommands.Add(EvalMergeCommand.Create());
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                string dir = parse.GetValue(checkpoint)?.FullName ?? throw new ArgumentException("--checkpoint DIR is required");
                int batch = parse.GetValue(batchSize);
                if (batch < 1) throw new ArgumentException($"--batch-size must be at least 1, got {batch}");
                int? max = parse.GetValue(limit);
                if (max is < 1) throw new ArgumentException($"--limit must be at least 1, got {max}");
                var own = parse.GetValue(data);
                string taskList;
                Func<Evaluator, Action<EvalChunkProgress>, List<TaskRun>> evaluate;
                if (own is not null)
                {
                    if (parse.GetValue(tasks) is not null || parse.GetValue(dataDir) is not null)
                        throw new ArgumentException("--data is used instead of --tasks and --data-dir, not with them");
                    string metricName = parse.GetValue(metric)!;
                    if (!CustomEvalSet.Metrics.Contains(metricName))
                        throw new ArgumentException($"unknown --metric '{metricName}'; known: {string.Join(", ", CustomEvalSet.Metrics)}");
                    int maxNewTokens = parse.GetValue(maxNew);
                    if (maxNewTokens < 1) throw new ArgumentException($"--max-new-tokens must be at least 1, got {maxNewTokens}");
                    var (questions, references, sources) = ReadOwn(own, max);
                    taskList = OwnName(own);
                    string name = taskList;
                    evaluate = (evaluator, report) =>
                    {
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        var answers = evaluator.GenerateAnswers(name, questions, maxNewTokens, batch, report);
                        var outcome = new EvalTaskOutcome(name, answers, CustomEvalSet.Score(metricName, answers, references), clock.Elapsed);
                        return [new TaskRun(outcome, questions.Count,
                            () => EvalSampleLog.ForQuestions(evaluator, name, metricName, sources, questions, references, answers))];
                    };
                }
                else
                {
                    taskList = parse.GetValue(tasks) ?? throw new ArgumentException($"--tasks (or --data) is required (known tasks: {string.Join(", ", EvalTasks.Names)})");
                    string root = parse.GetValue(dataDir)?.FullName ?? throw new ArgumentException("--data-dir DIR is required: " + DataLayoutHelp);
                    var names = taskList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if (names.Length == 0) throw new ArgumentException("--tasks names no task");
                    var selected = names.Select(EvalTasks.Get).ToList();
                    // Every task's files and columns are checked before the model is loaded, so a bad data folder fails fast.
                    var sources = selected.ToDictionary(t => t.Name, t => TaskPath(root, t.Name));
                    foreach (var t in selected) _ = EvalDatasets.ReadParquet(t.Name, sources[t.Name], 1).ToList();
                    evaluate = (evaluator, report) => selected.Select(task =>
                    {
                        var docs = EvalDatasets.ReadParquet(task.Name, sources[task.Name], max).ToList();
                        var outcome = evaluator.Run(task, docs, batch, report);
                        return new TaskRun(outcome, docs.Count, () => EvalSampleLog.ForTask(evaluator, task, docs, outcome.Generations));
                    }).ToList();
                }

                var (run, step) = Identity(dir, parse.GetValue(runName), parse.GetValue(globalStep));
                var cfg = VlmConfig.Read(Path.Combine(dir, Checkpoint.ConfigFile));
                var tok = CheckpointTokenizer.Load(dir, cfg, parse.GetValue(tokenizer));
                var dev = TorchRuntime.SelectDevice(parse.GetValue(device));
                using var model = Checkpoint.Load(dir, tok.ImageTokenId, dev);
                bool asJson = parse.GetValue(json);
                bool live = !asJson && !Console.IsErrorRedirected && stderr == Console.Error && Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;
                List<TaskRun> outcomes;
                using (var progress = new EvalProgress(stderr, live))
                    outcomes = evaluate(new Evaluator(model, cfg, tok), progress.OnChunk);
                var results = outcomes.SelectMany(o => EvalResultFiles.ResultsOf(o.Outcome.Task, o.Outcome.Metrics)).ToList();
                string part = EvalResultFiles.WritePart(parse.GetValue(outDir)!.FullName, run, step, taskList, results);
                string? samples = null;
                if (parse.GetValue(logSamples))
                {
                    samples = EvalSampleLog.PathFor(part);
                    EvalSampleLog.Write(samples, outcomes.SelectMany(o => o.Samples()));
                }
                if (asJson) stdout.WriteLine(Json(part, samples, run, step, results, outcomes));
                else WriteTable(stdout, outcomes, part, samples);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException or NotSupportedException or NanoVlm.Loader.Images.ImageDecodeException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary><c>DATA_DIR/&lt;task&gt;</c> (folder) or <c>DATA_DIR/&lt;task&gt;.parquet</c>.</summary>
    internal static string TaskPath(string dataDir, string task)
    {
        string folder = Path.Combine(dataDir, task);
        if (Directory.Exists(folder)) return folder;
        string file = folder + ".parquet";
        if (File.Exists(file)) return file;
        throw new FileNotFoundException($"task '{task}': no data at {folder}{Path.DirectorySeparatorChar} or {file}. {DataLayoutHelp}", folder);
    }

    /// <summary>The run name and step: given, or from a trainer's <c>{run}/step_{N}</c> checkpoint folder.</summary>
    private static (string Run, long Step) Identity(string checkpointDir, string? runName, long? globalStep)
    {
        var folder = new DirectoryInfo(checkpointDir);
        var m = StepFolder().Match(folder.Name);
        bool isStep = m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out _);
        string run = runName ?? (isStep && folder.Parent is { } parent ? parent.Name : folder.Name);
        long step = globalStep ?? (isStep ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
        if (run.Length == 0 || run.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || run is "." or "..")
            throw new ArgumentException($"--run-name '{run}' is not a folder name");
        if (step < 0) throw new ArgumentException($"--global-step must be ≥ 0, got {step}");
        return (run, step);
    }

    [GeneratedRegex(@"^step_(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex StepFolder();

    /// <summary>One task's outcome, its document count, and its per-document log (built only for --log-samples).</summary>
    private sealed record TaskRun(EvalTaskOutcome Outcome, int Documents, Func<IEnumerable<EvalSample>> Samples);

    private static string OwnName(string path) =>
        Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(path).Replace('*', '_'));

    private static (List<EvalQuestion>, List<IReadOnlyList<string>>, List<string>) ReadOwn(string path, int? limit)
    {
        if (FineVisionEvalSet.Accepts(path)) return FineVisionEvalSet.Read(path, limit);
        var (questions, references) = CustomEvalSet.Read(path, limit);
        return (questions, references, [.. questions.Select((_, i) => $"{path} row {i}")]);
    }

    private static void WriteTable(TextWriter stdout, List<TaskRun> outcomes, string part, string? samples)
    {
        var rows = outcomes.SelectMany(o => o.Outcome.Metrics.Select(kv => (o.Outcome.Task, Metric: kv.Key,
            Value: kv.Value.ToString("0.0000", CultureInfo.InvariantCulture)))).ToList();
        int w1 = Math.Max(4, rows.Max(r => r.Task.Length)), w2 = Math.Max(6, rows.Max(r => r.Metric.Length));
        stdout.WriteLine($"{"task".PadRight(w1)}  {"metric".PadRight(w2)}  value");
        foreach (var r in rows) stdout.WriteLine($"{r.Task.PadRight(w1)}  {r.Metric.PadRight(w2)}  {r.Value}");
        foreach (var (o, n, _) in outcomes) stdout.WriteLine($"({o.Task}: {n} documents in {o.Elapsed.TotalSeconds:F1} s)");
        stdout.WriteLine($"written: {part}");
        if (samples is not null) stdout.WriteLine($"samples: {samples}");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static string Json(string part, string? samples, string run, long step, List<KeyValuePair<string, double>> results, List<TaskRun> outcomes)
    {
        var merged = new Dictionary<string, double>();
        foreach (var kv in results) merged[kv.Key] = kv.Value;
        var perTask = outcomes.ToDictionary(o => o.Outcome.Task, o => new { documents = o.Documents, seconds = Math.Round(o.Outcome.Elapsed.TotalSeconds, 3) });
        return JsonSerializer.Serialize(new { part, samples, run_name = run, global_step = step, results = merged, tasks = perTask }, JsonOptions);
    }
}
