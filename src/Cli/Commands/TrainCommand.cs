using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Runtime;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using TorchSharp;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm train</c>: nanoVLM's training loop fed by the loader's pinned packs; checkpoints nanoVLM can load,
/// exact resume, metrics as JSONL and TensorBoard events in the run folder.
/// </summary>
internal static class TrainCommand
{
    private static readonly Option<string> Preset = new("--preset") { Description = "tiny (CPU-sized, the default) or nanovlm (nanoVLM's 460M shape and train.py settings).", DefaultValueFactory = _ => "tiny" };
    private static readonly Option<FileInfo?> Config = ConfigOption.Create();
    private static readonly Option<string?> Data = new("--data") { Description = "Training data (.parquet/.jsonl/.tar, a folder or a glob). Omitted: the built-in sample data." };
    private static readonly Option<string[]> Mix = DataMixture.CreateOption("In train, every stage but the last is one pass over its sources and the last repeats until --max-steps.");
    private static readonly Option<string?> ValData = new("--val-data") { Description = "Validation data. Omitted: a held-out built-in set when training on the built-in data, else none." };
    private static readonly Option<string?> From = new("--checkpoint") { Description = "Start from this checkpoint's weights and config (nanoVLM's or ours)." };
    private static readonly Option<string?> Resume = new("--resume") { Description = "Continue a run exactly from RUN/step_N (weights, optimizer, loader position)." };
    private static readonly Option<string?> VisionBackbone = new("--vision-backbone") { Description = "A SigLIP model.safetensors to initialise the vision encoder from (nanoVLM's vlm_load_backbone_weights)." };
    private static readonly Option<string?> LanguageBackbone = new("--language-backbone") { Description = "A SmolLM2/Llama model.safetensors, index.json or folder to initialise the language model from." };
    private static readonly Option<string?> EvalTasksOption = new("--eval-tasks")
    {
        Description = "Benchmarks to evaluate every checkpoint on, in the training process (nanoVLM's lmms_eval_tasks, e.g. mmstar,docvqa_val); needs --eval-data-dir.",
    };
    private static readonly Option<string?> EvalDataDir = new("--eval-data-dir") { Description = "Folder with the tasks' parquet files (as for nanovlm eval --data-dir)." };
    private static readonly Option<int?> EvalLimit = new("--eval-limit") { Description = "Documents per task (lmms_eval_limit; default all)." };
    private static readonly Option<int> EvalBatchSize = new("--eval-batch-size") { Description = "Generation batch (lmms_eval_batch_size).", DefaultValueFactory = _ => 64 };
    private static readonly Option<string?> Out = new("--out") { Description = "Run folder (default runs/<run name>)." };
    private static readonly Option<long> MaxSteps = new("--max-steps") { Description = "max_training_steps." };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Packs per micro-batch (batch_size)." };
    private static readonly Option<int> Accumulation = new("--gradient-accumulation-steps") { Description = "Micro-batches per optimizer step." };
    private static readonly Option<double> LrMp = new("--lr-mp") { Description = "Projector learning rate (0 freezes it)." };
    private static readonly Option<double> LrVision = new("--lr-vision") { Description = "Vision encoder learning rate (0 freezes it)." };
    private static readonly Option<double> LrLanguage = new("--lr-language") { Description = "Language model learning rate (0 freezes it)." };
    private static readonly Option<string?> Freeze = new("--freeze")
    {
        Description = "Parts not to train, comma-separated: vision, projector, language (sets their learning rate to 0: no gradients, no optimizer state; config keys freeze_vision_backbone, freeze_mp, freeze_language_backbone).",
    };
    private static readonly Option<int> LoraRank = new("--lora-rank") { Description = "Train LoRA adapters of this rank on the vision encoder's and language model's linear layers instead of their weights (0 = off; config key lora_rank). Checkpoints hold the merged weights." };
    private static readonly Option<double> LoraAlpha = new("--lora-alpha") { Description = "LoRA alpha: adapters are scaled by alpha / rank (default 16; lora_alpha)." };
    private static readonly Option<double> LoraDropout = new("--lora-dropout") { Description = "Dropout on the adapters' input (default 0; lora_dropout)." };
    private static readonly Option<string?> LoraTargets = new("--lora-targets")
    {
        Description = "Layers to adapt, comma-separated names (q_proj,k_proj,v_proj,out_proj,gate_proj,up_proj,down_proj,qkv_proj,fc1,fc2 = all, the default), path suffixes (attn.out_proj) or globs (decoder.*.out_proj); lora_target_modules.",
    };
    private static readonly Option<int> TrainEvalBatches = new("--train-eval-batches") { Description = "After each epoch, loss and perplexity per data source over the training set: this many batches (-1 = all, the default; 0 = off; train_eval_batches)." };
    private static readonly Option<int> EvalInterval = new("--eval-interval") { Description = "Validation + checkpoint every N steps (0 = at the end only)." };
    private static readonly Option<string> Attention = new("--attention") { Description = "document (each packed sample sees only itself; default) or nanovlm (one causal mask over the pack).", DefaultValueFactory = _ => "document" };
    private static readonly Option<string> PrecisionFlag = new("--precision") { Description = "auto (bf16 mixed precision on CUDA, as nanoVLM's train.py; fp32 on the CPU; the default), fp32 or bf16 (precision). Weights and optimizer state stay fp32.", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> Device = new("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Workers = new("--workers") { Description = "Loader materialize workers." };
    private static readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "tokenizer.json / .model, or 'default' (the built-in one, also the default for new models)." };
    private static readonly Option<bool> SkipNonFinite = new("--skip-nonfinite-loss") { Description = "Skip micro-batches whose loss is NaN/inf (counted) instead of stopping." };
    private static readonly Option<int> LogEvery = new("--log-every") { Description = "Progress line every N steps." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the summary as one JSON object." };
    private static readonly Option<string> LossAverage = new("--loss-average")
    {
        Description = "micro-batch (nanoVLM's objective, the default: the mean over ranks × micro-batches of each micro-batch's token mean) or token (every labelled token of the step, on every rank, weighs the same).",
        DefaultValueFactory = _ => "micro-batch",
    };
    private static readonly Option<double> DistTimeout = new("--dist-timeout") { Description = "Data-parallel runs: seconds a rank waits in one collective before it gives up and ends the job, and (torchrun-style launch) for the other ranks to join (nanoVLM: 30 min).", DefaultValueFactory = _ => 1800 };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("train", "Train a nanoVLM model (new, from a checkpoint, or resumed) on the loader's packed batches.")
        {
            Preset, Config, Data, Mix, ValData, From, Resume, VisionBackbone, LanguageBackbone, EvalTasksOption, EvalDataDir, EvalLimit, EvalBatchSize, Out, MaxSteps, BatchSize, Accumulation, LrMp, LrVision, LrLanguage,
            Freeze, LoraRank, LoraAlpha, LoraDropout, LoraTargets, TrainEvalBatches, EvalInterval, Attention, PrecisionFlag, Device, Workers, Tokenizer, SkipNonFinite, LogEvery, Json,
            LossAverage, DistTimeout,
        };
        Attention.AcceptOnlyFromAmong("document", "nanovlm");
        PrecisionFlag.AcceptOnlyFromAmong([.. TrainingPrecisions.Names]);
        LossAverage.AcceptOnlyFromAmong("micro-batch", "token");
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var stdout = parse.InvocationConfiguration.Output;
        var stderr = parse.InvocationConfiguration.Error;
        bool json = parse.GetValue(Json);
        var log = json ? TextWriter.Null : stdout;
        DataParallel? parallel = null;
        try
        {
            var launch = LaunchEnvironment.Detect();
            var file = ConfigOption.Load(parse, Config);
            string? resumeDir = parse.GetValue(Resume), fromDir = resumeDir ?? parse.GetValue(From);
            // The tokenizer: --tokenizer, else the checkpoint's own, else the built-in one.
            string? tokenizerArg = parse.GetValue(Tokenizer)
                ?? (fromDir is not null && CheckpointTokenizer.SourcePath(fromDir, null) is not null ? null : CheckpointTokenizer.BuiltIn);
            string tokenizerDir = fromDir ?? ".";
            var tokenizer = CheckpointTokenizer.Load(tokenizerDir, new VlmConfig(), tokenizerArg);
            string? tokenizerPath = CheckpointTokenizer.SourcePath(tokenizerDir, tokenizerArg);
            var preset = TrainingPresets.Get(parse.GetValue(Preset)!, tokenizer);
            var model = (fromDir is null ? preset.Model : VlmConfig.Read(Path.Combine(fromDir, Checkpoint.ConfigFile))).With(file);
            var train = preset.Training.With(file);
            train = train with
            {
                MaxTrainingSteps = parse.Flag(MaxSteps, train.MaxTrainingSteps),
                GradientAccumulationSteps = parse.Flag(Accumulation, train.GradientAccumulationSteps),
                EvalInterval = parse.Flag(EvalInterval, train.EvalInterval),
                LearningRates = new GroupLearningRates(parse.Flag(LrMp, train.LearningRates.Projector),
                    parse.Flag(LrVision, train.LearningRates.Vision), parse.Flag(LrLanguage, train.LearningRates.Language)),
                Attention = parse.GetValue(Attention) == "nanovlm" ? AttentionMode.Nanovlm : AttentionMode.Document,
                Precision = parse.Given(PrecisionFlag) ? TrainingPrecisions.Parse(parse.GetValue(PrecisionFlag))!.Value : train.Precision,
                OnNonFiniteLoss = parse.GetValue(SkipNonFinite) ? NonFiniteLossPolicy.Skip : NonFiniteLossPolicy.Stop,
                LogInterval = parse.Flag(LogEvery, train.LogInterval),
            };
            train = FineTuningFlags(parse, train);
            // A LoRA run resumes with the settings it was trained with, on the weights it started from.
            LoraRunBase? loraBase = null;
            if (resumeDir is not null && LoraAdapters.ReadOptions(resumeDir) is { } savedLora)
            {
                train = train with { Lora = savedLora };
                loraBase = LoraRunBase.Read(Path.GetDirectoryName(Path.GetFullPath(resumeDir))!);
            }
            train.Validate();
            var loaderOptions = file.ApplyTo(TrainingPresets.LoaderFor(model, preset.Loader.BatchSize));
            loaderOptions = loaderOptions with
            {
                BatchSize = parse.Flag(BatchSize, loaderOptions.BatchSize),
                Workers = parse.Flag(Workers, loaderOptions.Workers),
                Epochs = null,
            };
            loaderOptions.Validate();
            if (tokenizer.VocabularySize > model.LmVocabSize)
                throw new ArgumentException($"The tokenizer has {tokenizer.VocabularySize} ids but the model's lm_vocab_size is {model.LmVocabSize}.");
            var objective = parse.GetValue(LossAverage) == "token" ? GradientObjective.GlobalTokenMean : GradientObjective.MicroBatchMean;
            parallel = TrainDistributed.Join(launch, objective, parse.GetValue(DistTimeout), stderr);
            bool writer = parallel?.IsWriter ?? true, distributed = parallel?.WorldSize > 1;
            if (!writer) log = TextWriter.Null; // rank 0 reports; the other ranks speak only to name themselves or fail
            TrainDistributed.ShareCores(launch);
            if (distributed) loaderOptions = loaderOptions with { Rank = launch.Rank, WorldSize = launch.WorldSize }; // each rank its shard

            string? valData = parse.GetValue(ValData);
            var mixture = DataMixture.From(parse.GetValue(Data), parse.GetValue(Mix), file);
            if (mixture is null)
            {
                if (distributed && !writer) parallel!.All(true); // rank 0 writes the sample data first (the same folder)
                mixture = DataMixture.Single(LoaderCliOptions.SampleData(500, log));
                valData ??= LoaderCliOptions.SampleData(64, log, seed: 1);
                if (distributed && writer) parallel!.All(true);
            }
            string data = mixture.Describe();
            string runDir = resumeDir is not null
                ? Path.GetDirectoryName(Path.GetFullPath(resumeDir))!
                : Path.GetFullPath(parse.GetValue(Out) ?? Path.Combine("runs", RunName(model, train, loaderOptions)));
            if (distributed) runDir = parallel!.BroadcastFromWriter(runDir); // the run name holds rank 0's clock
            var trainSettings = new
            {
                preset = preset.Name, train.MaxTrainingSteps, train.GradientAccumulationSteps, train.MaxGradNorm, train.EvalInterval,
                lr_mp = train.LearningRates.Projector, lr_vision_backbone = train.LearningRates.Vision, lr_language_backbone = train.LearningRates.Language,
                attention = train.Attention.ToString(), precision = train.Precision.Name(), loaderOptions.BatchSize, loaderOptions.Workers, loaderOptions.LmMaxLength, data, mixture = mixture.Entries, val_data = valData,
                lora_rank = train.Lora?.Rank ?? 0, lora_alpha = train.Lora?.Alpha, lora_dropout = train.Lora?.Dropout, lora_target_modules = train.Lora?.TargetModules,
                train_eval_batches = train.TrainEvalBatches ?? -1,
                world_size = launch.WorldSize, loss_average = parse.GetValue(LossAverage),
            };
            if (writer)
            {
                Directory.CreateDirectory(runDir);
                model.Write(Path.Combine(runDir, Checkpoint.ConfigFile));
                File.WriteAllText(Path.Combine(runDir, "train_options.json"), JsonSerializer.Serialize(trainSettings, new JsonSerializerOptions { WriteIndented = true }));
            }
            string? baseDir = fromDir, visionPath = resumeDir is null ? parse.GetValue(VisionBackbone) : null,
                languagePath = resumeDir is null ? parse.GetValue(LanguageBackbone) : null;
            if (loraBase is not null) (baseDir, visionPath, languagePath) = (loraBase.Checkpoint, loraBase.VisionBackbone, loraBase.LanguageBackbone);
            else if (train.Lora is not null && resumeDir is null && writer)
                new LoraRunBase(fromDir is null ? null : Path.GetFullPath(fromDir), Full(visionPath), Full(languagePath)).Write(runDir);

            string deviceName = parse.GetValue(Device)!;
            if (distributed && deviceName is "auto" or "cuda" && TorchSharp.torch.cuda.is_available()) deviceName = $"cuda:{launch.LocalRank}"; // one GPU per local rank
            var device = TorchRuntime.SelectDevice(deviceName);
            TorchSharp.torch.manual_seed(0); // train.py's seed
            using var vlm = baseDir is null ? new VisionLanguageModel(model, tokenizer.ImageTokenId) : Checkpoint.Load(baseDir, tokenizer.ImageTokenId);
            if (visionPath is { } vision)
                foreach (var key in NanoVlm.Engine.Checkpoints.Backbones.LoadVision(vlm, vision)) stderr.WriteLine($"warning: {vision} has no tensor for {key} (kept its random initialisation)");
            if (languagePath is { } language)
                foreach (var key in NanoVlm.Engine.Checkpoints.Backbones.LoadLanguage(vlm, language)) stderr.WriteLine($"warning: {language} has no tensor for {key} (kept its random initialisation)");
            if (device.type != TorchSharp.DeviceType.CPU) vlm.to(device);
            if (distributed)
                RunAgreement.Verify(parallel!, TrainDistributed.Settings(trainSettings, model.ToJson(), data, valData, fromDir, resumeDir,
                    tokenizerPath, RunAgreement.WeightsDigest(vlm), objective));
            using var trainer = new Trainer(vlm, train, runDir, dir => CheckpointTokenizer.Save(tokenizerPath, dir), parallel);
            var resumeState = resumeDir is null ? null : trainer.Restore(resumeDir);
            using var trainLog = writer ? new TrainingLog(runDir) : null;
            var progress = new TrainProgress(log, train.MaxTrainingSteps, train.LogInterval);
            trainer.StepCompleted += m => { trainLog?.Write(m); progress.Step(m); };
            trainer.Validated += v => { trainLog?.Write(v); log.WriteLine($"  step {v.Step}: val_loss {v.Loss:F4} ({v.Batches} batches)"); };
            trainer.CheckpointSaved += dir => log.WriteLine($"  checkpoint: {dir}");
            trainer.TrainingSet = () => mixture.OnePass(loaderOptions, tokenizer);
            (trainer.SourceNames, trainer.SourceStages) = (mixture.SourceNames(), [.. mixture.Entries.Select(e => e.Stage)]);
            trainer.TrainSetEvaluated += e =>
            {
                trainLog?.Write(e);
                log.WriteLine($"  step {e.Step}, epoch {e.Epoch} on the training set: {string.Join(", ", e.Sources.Select(x => $"{x.Source} loss {x.Loss:F4} perplexity {x.Perplexity:F2}"))}");
            };
            if (trainLog is not null && InTrainingEvaluation(parse, file, vlm, model, tokenizer, runDir, trainLog, log, stderr) is { } evaluate)
                trainer.CheckpointSaved += evaluate;

            log.WriteLine($"nanovlm train: {(fromDir is null ? preset.Name + " model" : fromDir)}, {UniqueParameters(vlm):N0} parameters, {train.MaxTrainingSteps} steps × {train.GradientAccumulationSteps} × {loaderOptions.BatchSize} packs of {loaderOptions.LmMaxLength} tokens, {device}");
            if (trainer.Lora is { } adapters)
                log.WriteLine($"  LoRA: rank {adapters.Options.Rank}, alpha {adapters.Options.Alpha}, dropout {adapters.Options.Dropout}, {adapters.AdaptedLayers.Count} layers, {adapters.Parameters.Sum(p => p.numel()):N0} adapter parameters (checkpoints hold merged weights)");
            log.WriteLine($"  data: {data}{(valData is null ? "" : $"; validation: {valData}")}; run folder: {runDir}");
            if (resumeState is not null) log.WriteLine($"  resuming at step {resumeState.GlobalStep} from {resumeDir}");
            if (distributed && trainer.Reducer is { } reducer)
                log.WriteLine($"  data-parallel: {launch.WorldSize} ranks ({TrainDistributed.Transport(launch)}), {parse.GetValue(LossAverage)} loss average, {reducer.Elements * sizeof(float):N0} gradient bytes all-reduced per step in {reducer.Buckets} bucket(s) by {reducer.Collective}");

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
            try
            {
                using var trainSources = mixture.Open(earlierStagesOnce: true);
                var loaderState = resumeState is not null && TrainDistributed.ResumedLoaderState(resumeState, launch.Rank, launch.WorldSize, log) is { } s
                    ? LoaderState.FromJson(s) : null;
                using var loader = mixture.Loader(trainSources, loaderOptions, loaderState, tokenizer, resumeDir, m => stderr.WriteLine($"warning: {m}"));
                Func<IEnumerable<Batch>>? validation = valData is null ? null : () => ValidationBatches(valData, loaderOptions, tokenizer);
                var summary = trainer.Run(loader, validation, resumeState, cancel.Token);
                var counters = loader.Counters;
                string? chart = writer ? LossChartOrWarning(runDir, stderr) : null;
                if (json && writer)
                    stdout.WriteLine(JsonSerializer.Serialize(new
                    {
                        steps = summary.Steps, final_loss = summary.FinalLoss, checkpoint = summary.LastCheckpoint, interrupted = summary.Interrupted,
                        skipped_micro_batches = summary.SkippedMicroBatches, seconds = summary.Seconds, run = runDir,
                        rows_read = counters.RowsRead, samples = counters.SamplesEmitted, dropped = counters.Dropped, loss_chart = chart,
                        world_size = launch.WorldSize,
                    }));
                else
                {
                    log.WriteLine($"{(summary.Interrupted ? "interrupted" : "done")}: {summary.Steps} steps in {summary.Seconds:F1} s, last step loss {summary.FinalLoss:F4}; " +
                        $"rows read {counters.RowsRead} ({counters.SamplesEmitted} samples, {counters.Dropped} dropped), {summary.SkippedMicroBatches} micro-batches skipped");
                    log.WriteLine($"  checkpoint: {summary.LastCheckpoint}");
                    if (chart is not null) log.WriteLine($"  loss curve: {chart}");
                    log.WriteLine($"  try it: nanovlm generate --checkpoint {summary.LastCheckpoint} --image IMAGE --prompt \"What is in the image?\"");
                }
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException
                                   or ConfigFileException or NonFiniteLossException or NotSupportedException or DllNotFoundException)
        {
            bool distributed = parallel is { WorldSize: > 1 };
            stderr.WriteLine(distributed ? $"error: rank {parallel!.Rank} of {parallel.WorldSize}: {e.Message}" : $"error: {e.Message}");
            stderr.Flush();
            // One rank's error ends the job: the other ranks would otherwise wait for it in their next collective.
            if (distributed) parallel!.Communicator.Abort(2);
            return 2;
        }
        finally
        {
            parallel?.Communicator.Dispose(); // MPI_Finalize, or the TCP ranks' goodbye
        }
    }

    // The chart is a convenience: a failure to draw it is a warning, never a failed run.
    private static string? LossChartOrWarning(string runDir, TextWriter stderr)
    {
        try
        {
            return LossChart.WriteForRun(runDir);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or TypeInitializationException or DllNotFoundException)
        {
            stderr.WriteLine($"warning: no {LossChart.FileName}: {e.Message}");
            return null;
        }
    }

    // train.py submits an lmms-eval job for each checkpoint; here each checkpoint is evaluated in the training process,
    // between steps, on the weights in memory: no reload, no second copy of the model on the device, and the results
    // are logged the moment they exist (at the cost of the training time the evaluation takes).
    private static Action<string>? InTrainingEvaluation(ParseResult parse, NanovlmConfig file, VisionLanguageModel vlm, VlmConfig model,
        VlmTokenizer tokenizer, string runDir, TrainingLog trainLog, TextWriter log, TextWriter stderr)
    {
        string? taskList = parse.GetValue(EvalTasksOption) ?? (file.TryGetValue("lmms_eval_tasks", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null);
        if (taskList is null) return null;
        string dataDir = parse.GetValue(EvalDataDir) ?? throw new ArgumentException("--eval-tasks needs --eval-data-dir (the tasks' parquet files).");
        var tasks = taskList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(NanoVlm.Evaluation.EvalTasks.Get).ToList();
        var sources = tasks.ToDictionary(task => task.Name, task => EvalCommand.TaskPath(dataDir, task.Name));
        foreach (var task in tasks) _ = NanoVlm.Evaluation.EvalDatasets.ReadParquet(task.Name, sources[task.Name], 1).ToList(); // fail before training
        int? limit = parse.GetValue(EvalLimit);
        int batch = parse.GetValue(EvalBatchSize);
        string outDir = Path.Combine(runDir, "eval_results"), run = Path.GetFileName(runDir);
        return checkpoint =>
        {
            long step = long.Parse(Path.GetFileName(checkpoint)["step_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            vlm.eval();
            try
            {
                var evaluator = new Evaluator(vlm, model, tokenizer);
                var results = tasks.SelectMany(task =>
                {
                    var docs = NanoVlm.Evaluation.EvalDatasets.ReadParquet(task.Name, sources[task.Name], limit).ToList();
                    var outcome = evaluator.Run(task, docs, batch);
                    return NanoVlm.Evaluation.EvalResultFiles.ResultsOf(task.Name, outcome.Metrics);
                }).ToList();
                NanoVlm.Evaluation.EvalResultFiles.WritePart(outDir, run, step, taskList, results);
                var merged = NanoVlm.Evaluation.EvalResultFiles.Merge(outDir, run, step);
                if (!merged.Complete) stderr.WriteLine($"warning: evaluation results of step {step} could not all be merged ({outDir})");
                trainLog.WriteEvaluation(step, results);
                log.WriteLine($"  step {step}: {string.Join(", ", results.Where(r => !r.Key.EndsWith("_stderr", StringComparison.Ordinal)).Select(r => $"{r.Key} {r.Value:0.####}"))}");
            }
            finally
            {
                vlm.train();
            }
        };
    }

    // --freeze and --lora-* / --train-eval-batches over the preset's and the config file's values.
    private static TrainOptions FineTuningFlags(ParseResult parse, TrainOptions train)
    {
        if (parse.GetValue(Freeze) is { } freeze)
        {
            var r = train.LearningRates;
            foreach (var part in freeze.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                r = part switch
                {
                    "vision" => r with { Vision = 0 },
                    "projector" or "mp" => r with { Projector = 0 },
                    "language" or "lm" => r with { Language = 0 },
                    _ => throw new ArgumentException($"--freeze: unknown part '{part}' (vision, projector, language)."),
                };
            train = train with { LearningRates = r };
        }
        if (parse.Given(LoraRank))
            train = train with { Lora = parse.GetValue(LoraRank) == 0 ? null : (train.Lora ?? new LoraOptions()) with { Rank = parse.GetValue(LoraRank) } };
        if ((parse.Given(LoraAlpha) || parse.Given(LoraDropout) || parse.Given(LoraTargets)) && train.Lora is null)
            throw new ArgumentException("--lora-alpha, --lora-dropout and --lora-targets need --lora-rank (or lora_rank in the config file).");
        if (train.Lora is { } lora)
            train = train with
            {
                Lora = lora with
                {
                    Alpha = parse.Flag(LoraAlpha, lora.Alpha),
                    Dropout = parse.Flag(LoraDropout, lora.Dropout),
                    TargetModules = parse.GetValue(LoraTargets) is { } t ? LoraOptions.ParseTargets(t) : lora.TargetModules,
                },
            };
        if (parse.Given(TrainEvalBatches))
        {
            int n = parse.GetValue(TrainEvalBatches);
            if (n < -1) throw new ArgumentException($"--train-eval-batches must be -1 (all), 0 (off) or a batch count (is {n}).");
            train = train with { TrainEvalBatches = n < 0 ? null : n };
        }
        return train;
    }

    private static string? Full(string? path) => path is null ? null : Path.GetFullPath(path);

    private static IEnumerable<Batch> ValidationBatches(string path, DataLoaderOptions options, VlmTokenizer tokenizer)
    {
        using var source = RowSources.Open(path);
        using var loader = new DataLoader(source, options with { Epochs = 1, Workers = 1 }, null, tokenizer);
        foreach (var batch in loader) yield return batch;
    }

    private static long UniqueParameters(VisionLanguageModel m)
        => m.named_parameters().Where(p => !(m.Config.LmTieWeights && p.name == "decoder.head.weight")).Sum(p => p.parameter.numel());

    // train.py's run name, without the GPU count it cannot know here.
    private static string RunName(VlmConfig m, TrainOptions t, DataLoaderOptions l)
        => $"nanoVLM_{m.VitImgSize}px_{m.MaxImgSize}_mp{m.MpPixelShuffleFactor}_lm{m.LmHiddenDim}x{m.LmNBlocks}_bs{l.BatchSize * t.GradientAccumulationSteps}_" +
           $"{t.MaxTrainingSteps}_{DateTime.Now:MMdd-HHmmss}";
}
