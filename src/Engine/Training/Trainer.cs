using System.Diagnostics;
using NanoVlm.Engine.Distributed;
using NanoVlm.Loader.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>
/// nanoVLM's training loop over loader batches: micro-batches straight from the pinned packs
/// (<see cref="PackBatch"/>), loss / GA accumulated, clip + schedule + AdamW every GA micro-batches
/// (<see cref="OptimizerRecipe"/>), validation loss and a checkpoint every <see cref="TrainOptions.EvalInterval"/>
/// steps and at the end, all of it resumable. Batches without any image are skipped, as nanoVLM does.
/// </summary>
public sealed class Trainer : IDisposable
{
    // Skipping non-finite losses is for the odd bad batch; this many in a row means the weights themselves diverged.
    private const int MaxNonFiniteInARow = 50;

    private readonly VisionLanguageModel _model;
    private readonly TrainOptions _options;
    private readonly OptimizerRecipe _recipe;
    private readonly string _runDirectory;
    private readonly Action<string>? _writeTokenizer;
    private readonly LoraAdapters? _lora;
    private readonly DataParallel? _parallel;
    private readonly IGradientReducer? _reducer;
    private readonly ScalarType? _computeDtype;

    /// <summary>Creates the trainer (and its optimizer) for <paramref name="model"/>.</summary>
    /// <param name="model">The model, on its training device.</param>
    /// <param name="options">Loop settings.</param>
    /// <param name="runDirectory">Where <c>step_N</c> checkpoints go.</param>
    /// <param name="writeTokenizer">Copies the tokenizer into a checkpoint folder (so <c>generate</c> finds it), or null.</param>
    /// <param name="parallel">This process's rank of a data-parallel run, or null for a single process: the gradients
    /// are then all-reduced before every optimizer step, the ranks stop, skip and validate together, and only rank 0
    /// writes checkpoints (with every rank's loader state).</param>
    public Trainer(VisionLanguageModel model, TrainOptions options, string runDirectory, Action<string>? writeTokenizer = null,
        DataParallel? parallel = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _runDirectory = runDirectory;
        _writeTokenizer = writeTokenizer;
        if (options.Lora is { } lora)
            _lora = LoraAdapters.Attach(model, lora, vision: options.LearningRates.Vision > 0, language: options.LearningRates.Language > 0);
        _recipe = new OptimizerRecipe(model, options.LearningRates, options.GradientAccumulationSteps, options.MaxGradNorm, options.MaxTrainingSteps, _lora);
        _parallel = parallel;
        _reducer = parallel?.CreateReducer(_recipe.Parameters); // the recipe lists the tied head once
        _computeDtype = options.Precision.ComputeDtype(model.Device);
    }

    /// <summary>The low-precision dtype the forward passes of training, validation and the training-set pass run in
    /// (<see cref="TrainOptions.Precision"/> resolved for the model's device), or null for float32.</summary>
    public ScalarType? ComputeDtype => _computeDtype;

    /// <summary>The gradient all-reduce of a data-parallel run (null for a single process).</summary>
    public IGradientReducer? Reducer => _reducer;

    /// <summary>The LoRA adapters this trainer attached to the model (<see cref="TrainOptions.Lora"/>), or null. They
    /// stay attached after the trainer is disposed (the model in memory keeps its fine-tuned behaviour);
    /// <see cref="LoraAdapters.MergeAndUnload"/> folds them into the weights.</summary>
    public LoraAdapters? Lora => _lora;

    /// <summary>The optimizer recipe (its groups and parameters).</summary>
    public OptimizerRecipe Recipe => _recipe;

    /// <summary>Makes a pass over the training set (one epoch, e.g. a loader with <c>Epochs = 1</c>) for the loss and
    /// perplexity per data source after each epoch (<see cref="TrainOptions.TrainEvalBatches"/>), or null for none.</summary>
    public Func<IEnumerable<Batch>>? TrainingSet { get; set; }

    /// <summary>The training data's source names by mixture index (for <see cref="TrainSetEvaluated"/>).</summary>
    public IReadOnlyList<string>? SourceNames { get; set; }

    /// <summary>The training data's stages by mixture index (null: one stage), for when an epoch ends (<see cref="MixtureEpochs"/>).</summary>
    public IReadOnlyList<int>? SourceStages { get; set; }

    /// <summary>Raised after every pass over the training set.</summary>
    public event Action<TrainSetEvaluation>? TrainSetEvaluated;

    /// <summary>Raised after every optimizer step.</summary>
    public event Action<StepMetrics>? StepCompleted;

    /// <summary>Raised after every validation pass.</summary>
    public event Action<ValidationResult>? Validated;

    /// <summary>Raised after every checkpoint written (its folder).</summary>
    public event Action<string>? CheckpointSaved;

    /// <summary>Loads the optimizer state of a checkpoint written by this trainer and returns where the run stood. With
    /// LoRA the model must hold the run's starting weights (its checkpoint has merged ones): the adapters and every
    /// tensor but the adapted layers' weights are loaded from the checkpoint here.</summary>
    /// <param name="checkpointDir">A <c>step_N</c> folder.</param>
    /// <returns>The saved state (its loader state resumes the training loader).</returns>
    public TrainerState Restore(string checkpointDir)
    {
        var state = TrainerState.Read(checkpointDir);
        if (_lora is not null)
        {
            _lora.Load(checkpointDir);
            _lora.LoadUnadapted(_model, Path.Combine(checkpointDir, Checkpoint.WeightsFile));
        }
        else if (File.Exists(Path.Combine(checkpointDir, LoraAdapters.ConfigFile)))
            throw new InvalidDataException($"{checkpointDir}: a LoRA run's checkpoint: resume it with the same LoRA settings (its {LoraAdapters.ConfigFile}).");
        try
        {
            _recipe.Optimizer.Load(Path.Combine(checkpointDir, TrainerState.OptimizerFileName));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{checkpointDir}: damaged optimizer state ({e.Message}).", e);
        }
        return state;
    }

    /// <summary>Runs until <see cref="TrainOptions.MaxTrainingSteps"/>, the end of the data, or cancellation (a checkpoint
    /// is written in every case).</summary>
    /// <param name="train">Training batches (the loader).</param>
    /// <param name="validation">Makes a fresh pass over the validation batches, or null for none.</param>
    /// <param name="resume">The state to continue from (<see cref="Restore"/>), or null.</param>
    /// <param name="cancellationToken">Stops the run after the current step, with a checkpoint.</param>
    /// <returns>The summary.</returns>
    /// <exception cref="NonFiniteLossException">A NaN/inf loss under <see cref="NonFiniteLossPolicy.Stop"/>.</exception>
    public TrainSummary Run(IEnumerable<Batch> train, Func<IEnumerable<Batch>>? validation = null, TrainerState? resume = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        var clock = Stopwatch.StartNew();
        long step = resume?.GlobalStep ?? 0, skipped = resume?.SkippedMicroBatches ?? 0, savedAt = -1;
        string? loaderState = resume?.LoaderStateOf(_parallel?.Rank ?? 0, _parallel?.WorldSize ?? 1), lastCheckpoint = null;
        double lastLoss = double.NaN;
        bool interrupted = false;
        int skippedInARow = 0;
        int epochs = loaderState is null ? 0 : CompletedEpochs(LoaderState.FromJson(loaderState)), epochsSeen = epochs;
        var device = _model.Device;
        _model.train();
        using var batches = train.GetEnumerator();
        while (step < _options.MaxTrainingSteps)
        {
            _parallel?.SetPhase($"step {step + 1}");
            if (Agreed(cancellationToken.IsCancellationRequested)) { interrupted = true; break; }
            var acc = new StepAccumulator();
            bool ended = false;
            while (acc.MicroBatches < _options.GradientAccumulationSteps)
            {
                long t0 = Stopwatch.GetTimestamp();
                Batch? next = null;
                while (next is null && batches.MoveNext())
                {
                    var candidate = batches.Current;
                    loaderState = candidate.StateAfter.ToJson();
                    epochsSeen = CompletedEpochs(candidate.StateAfter);
                    if (candidate.Packs.Any(p => p.TileCount > 0)) next = candidate;
                    else { skipped++; candidate.Dispose(); }
                }
                acc.DataWait += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                // All ranks stop when one runs out of data (nanoVLM's synchronized_dataloader_step).
                if (_parallel is not null && !_parallel.All(next is not null)) { next?.Dispose(); next = null; }
                if (next is null) { ended = true; break; }
                using var batch = next;
                long t1 = Stopwatch.GetTimestamp();
                using (NewDisposeScope())
                {
                    using var inputs = PackBatch.From(batch.Packs, device);
                    Tensor loss;
                    using (Modules.Autocast.Enable(_computeDtype)) // train.py: forward and loss under autocast, backward outside
                        loss = _model.Loss(_model.Forward(inputs, _options.Attention), inputs.Labels);
                    double value = loss.item<float>();
                    // A non-finite loss on any rank skips (or stops) the micro-batch on every rank, keeping them in step.
                    if (!(_parallel?.All(double.IsFinite(value)) ?? double.IsFinite(value)))
                    {
                        if (_options.OnNonFiniteLoss == NonFiniteLossPolicy.Stop || ++skippedInARow > MaxNonFiniteInARow)
                            throw new NonFiniteLossException(step + 1, batch.Index, value,
                                double.IsFinite(value) ? $"another rank's batch; this rank's rows {Describe(batch)}" : Describe(batch));
                        skipped++;
                        continue;
                    }
                    skippedInARow = 0;
                    long labelled = 0;
                    if (_reducer?.Objective == GradientObjective.GlobalTokenMean)
                    {
                        labelled = inputs.LabelledTokens;
                        _recipe.Backward(loss, labelled);
                    }
                    else _recipe.Backward(loss);
                    acc.Add(value, batch, inputs.RealTokens, labelled);
                }
                acc.Compute += Stopwatch.GetElapsedTime(t1).TotalSeconds;
            }
            if (acc.MicroBatches < _options.GradientAccumulationSteps)
            {
                // The data ended inside an accumulation: train.py never steps on a partial one either.
                _recipe.Optimizer.ZeroGrad();
                if (ended) break;
            }
            long t2 = Stopwatch.GetTimestamp();
            var reduction = _reducer?.Reduce(acc.LabelledTokens);
            var result = _recipe.Step(step);
            acc.Compute += Stopwatch.GetElapsedTime(t2).TotalSeconds;
            step++;
            var metrics = acc.ToMetrics(step, result, _recipe.GroupNames, skipped, clock.Elapsed.TotalSeconds);
            if (_parallel is not null && reduction is { } r) metrics = AcrossRanks(metrics, r);
            lastLoss = metrics.Loss;
            StepCompleted?.Invoke(metrics);
            if (epochsSeen > epochs)
            {
                epochs = epochsSeen;
                EvaluateTrainingSet(step, epochs);
            }
            if (_options.EvalInterval > 0 && step % _options.EvalInterval == 0 && step < _options.MaxTrainingSteps)
            {
                Validate(validation, step);
                lastCheckpoint = Save(step, skipped, loaderState);
                savedAt = step;
            }
            if (ended) break;
        }
        if (Agreed(cancellationToken.IsCancellationRequested && step < _options.MaxTrainingSteps)) interrupted = true;
        if (step > 0 && savedAt != step)
        {
            if (!interrupted) Validate(validation, step);
            lastCheckpoint = Save(step, skipped, loaderState);
        }
        return new TrainSummary(step, lastLoss, lastCheckpoint, interrupted, skipped, clock.Elapsed.TotalSeconds);
    }

    /// <summary>nanoVLM's validation: mean of the per-batch losses over at most <see cref="TrainOptions.ValidationBatches"/>
    /// batches, no gradients.</summary>
    /// <param name="batches">Validation batches.</param>
    /// <param name="step">Optimizer steps completed (for the result).</param>
    /// <returns>The result, or null when there was no batch.</returns>
    public ValidationResult? Evaluate(IEnumerable<Batch> batches, long step)
    {
        ArgumentNullException.ThrowIfNull(batches);
        _model.eval();
        try
        {
            using var noGrad = no_grad();
            using var autocast = Modules.Autocast.Enable(_computeDtype); // train.py validates under the same autocast
            double sum = 0;
            int n = 0;
            using var e = batches.GetEnumerator();
            while (n < _options.ValidationBatches)
            {
                Batch? batch = null;
                while (batch is null && e.MoveNext())
                {
                    if (e.Current.Packs.Any(p => p.TileCount > 0)) batch = e.Current;
                    else e.Current.Dispose();
                }
                if (_parallel is not null && !_parallel.All(batch is not null)) { batch?.Dispose(); batch = null; }
                if (batch is null) break;
                using (batch)
                using (NewDisposeScope())
                {
                    using var inputs = PackBatch.From(batch.Packs, _model.Device);
                    sum += _model.Loss(_model.Forward(inputs, _options.Attention), inputs.Labels).item<float>();
                }
                n++;
            }
            if (_parallel is not null && n > 0)
            {
                // Every rank evaluated n batches (they stop together): the mean of the ranks' means is the total's mean.
                Span<double> total = [sum, n];
                _parallel.Sum(total);
                return new ValidationResult(step, total[0] / total[1], n);
            }
            return n == 0 ? null : new ValidationResult(step, sum / n, n);
        }
        finally
        {
            _model.train();
        }
    }

    private void EvaluateTrainingSet(long step, int epoch)
    {
        if (TrainingSet is null || _options.TrainEvalBatches == 0) return;
        using var autocast = Modules.Autocast.Enable(_computeDtype);
        var r = PerSourceLoss.Run(_model, TrainingSet(), SourceNames, _options.Attention, _options.TrainEvalBatches, step, epoch);
        _model.train();
        TrainSetEvaluated?.Invoke(r);
    }

    private int CompletedEpochs(LoaderState state) => MixtureEpochs.Completed(state, SourceStages);

    private void Validate(Func<IEnumerable<Batch>>? validation, long step)
    {
        if (validation is null) return;
        if (Evaluate(validation(), step) is { } r) Validated?.Invoke(r);
    }

    // Writes RUN/step_N: model (config.json + model.safetensors, loadable by nanoVLM), tokenizer, optimizer and trainer
    // state, through step_N.tmp (CheckpointFolder), so an interrupted or failed save (a full disk) leaves the previous
    // checkpoints as they were and no half-written step_N.
    private string Save(long step, long skipped, string? loaderState)
    {
        string final = Path.Combine(_runDirectory, $"step_{step}");
        var rankStates = _parallel?.Gather(loaderState ?? "").Select(s => s.Length == 0 ? null : s).ToList();
        if (_parallel is { IsWriter: false }) return final; // rank 0 writes
        CheckpointFolder.Write(final, tmp =>
        {
            using (_lora?.Merge()) Checkpoint.Save(_model, tmp);
            _lora?.Save(tmp);
            _writeTokenizer?.Invoke(tmp);
            _recipe.Optimizer.Save(Path.Combine(tmp, TrainerState.OptimizerFileName));
            new TrainerState
            {
                GlobalStep = step, SkippedMicroBatches = skipped, LoaderState = loaderState,
                WorldSize = _parallel?.WorldSize ?? 1, RankLoaderStates = rankStates,
            }.Write(tmp);
        });
        CheckpointSaved?.Invoke(final);
        return final;
    }

    // A stop decision every rank takes alike (one rank's Ctrl-C or SIGTERM stops all of them at the same step).
    private bool Agreed(bool local) => _parallel?.Any(local) ?? local;

    // nanoVLM logs the ranks' mean loss; tokens per second is the ranks' sum; each rank's rate and reduce time are kept.
    private StepMetrics AcrossRanks(StepMetrics m, GradientReduction r)
    {
        var ranks = _parallel!.Gather([m.Loss, m.BatchLoss, m.TokensPerSecond, r.Seconds]);
        return m with
        {
            Loss = ranks.Average(x => x[0]),
            BatchLoss = ranks.Average(x => x[1]),
            TokensPerSecond = ranks.Sum(x => x[2]),
            RankTokensPerSecond = [.. ranks.Select(x => x[2])],
            AllReduceTime = ranks.Max(x => x[3]),
            AllReduceBytes = r.Bytes,
            WorldSize = _parallel.WorldSize,
        };
    }

    private static string Describe(Batch batch) => string.Join(", ", batch.Packs.SelectMany(p => p.Origins)
        .Take(8).Select(o => o.ToString()));

    /// <inheritdoc/>
    public void Dispose()
    {
        (_reducer as IDisposable)?.Dispose();
        _recipe.Dispose();
    }

    private sealed class StepAccumulator
    {
        private double _lossSum, _lastLoss;
        private long _tokens, _positions, _samples, _images;

        public long LabelledTokens { get; private set; }

        public int MicroBatches { get; private set; }
        public double DataWait { get; set; }
        public double Compute { get; set; }
        public double MeanLoss => MicroBatches == 0 ? double.NaN : _lossSum / MicroBatches;

        public void Add(double loss, Batch batch, long realTokens, long labelledTokens)
        {
            LabelledTokens += labelledTokens;
            _lossSum += loss;
            _lastLoss = loss;
            _tokens += realTokens;
            _positions += batch.Packs.Sum(p => (long)p.Layout.SequenceLength);
            _samples += batch.Samples;
            _images += batch.Images;
            MicroBatches++;
        }

        public StepMetrics ToMetrics(long step, OptimizerStepResult r, IReadOnlyList<string> groups, long skipped, double elapsed) => new()
        {
            Step = step,
            Loss = MeanLoss,
            BatchLoss = _lastLoss,
            GradNorm = r.GradNorm,
            LearningRates = groups.Select((g, i) => (g, r.LearningRates[i])).ToDictionary(x => x.g, x => x.Item2),
            TokensPerSecond = Compute > 0 ? _tokens / Compute : 0,
            DataLoadTime = DataWait,
            FwBwTime = Compute,
            ImagesPerSample = _samples == 0 ? 0 : (double)_images / _samples,
            PaddingRatio = _positions == 0 ? 0 : 1 - (double)_tokens / _positions,
            SkippedMicroBatches = skipped,
            Elapsed = elapsed,
        };
    }
}
