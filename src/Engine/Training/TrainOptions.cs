namespace NanoVlm.Engine.Training;

/// <summary>What to do when a micro-batch's loss is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Stop the run with an error naming the step and the batch's rows (the default: a diverged run should not
    /// keep writing checkpoints).</summary>
    Stop,

    /// <summary>Skip the micro-batch (no backward), count it, go on.</summary>
    Skip,
}

/// <summary>
/// The training loop's settings, in nanoVLM's TrainConfig terms where it has them (defaults are nanoVLM's); the model
/// and the data come from <see cref="VlmConfig"/> and the loader's options.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>lr_mp, lr_vision_backbone, lr_language_backbone (0 freezes a group).</summary>
    public GroupLearningRates LearningRates { get; init; } = GroupLearningRates.Nanovlm;

    /// <summary>gradient_accumulation_steps: micro-batches per optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 8;

    /// <summary>max_grad_norm.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>max_training_steps: optimizer steps of the run (and the schedule's length).</summary>
    public long MaxTrainingSteps { get; init; } = 40000;

    /// <summary>eval_interval: validation loss and a checkpoint every this many optimizer steps (0 = only at the end).</summary>
    public int EvalInterval { get; init; } = 500;

    /// <summary>Validation batches per evaluation (nanoVLM stops after 65).</summary>
    public int ValidationBatches { get; init; } = 65;

    /// <summary>Print a progress line every this many optimizer steps.</summary>
    public int LogInterval { get; init; } = 10;

    /// <summary>How packed samples attend to each other.</summary>
    public AttentionMode Attention { get; init; } = AttentionMode.Document;

    /// <summary>The forward's numerics: <see cref="TrainingPrecision.Auto"/> (bf16 mixed precision on CUDA as nanoVLM's
    /// train.py runs it, float32 on the CPU), or either one explicitly. Parameters and optimizer state stay float32.</summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;

    /// <summary>NaN/inf losses.</summary>
    public NonFiniteLossPolicy OnNonFiniteLoss { get; init; } = NonFiniteLossPolicy.Stop;

    /// <summary>LoRA adapters on the vision encoder's and the language model's linear layers (null: train the weights
    /// themselves). A part with adapters trains only them; a part whose rate is 0 gets none.</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Batches of the loss and perplexity pass over the training set after each epoch (per data source);
    /// null = the whole set, 0 = no such pass.</summary>
    public int? TrainEvalBatches { get; init; }

    /// <summary>A copy with the TrainConfig fields of <paramref name="config"/> applied: <c>lr_mp</c>,
    /// <c>lr_vision_backbone</c>, <c>lr_language_backbone</c>, <c>gradient_accumulation_steps</c>, <c>max_grad_norm</c>,
    /// <c>max_training_steps</c>, <c>eval_interval</c>; and NanoVlm.NET's own keys: <c>freeze_mp</c>,
    /// <c>freeze_vision_backbone</c>, <c>freeze_language_backbone</c> (true sets that rate to 0), <c>lora_rank</c>,
    /// <c>lora_alpha</c>, <c>lora_dropout</c>, <c>lora_target_modules</c> (see <see cref="LoraOptions"/>) and
    /// <c>train_eval_batches</c> (-1 = the whole training set, 0 = none) and <c>precision</c> (<c>auto</c>, <c>fp32</c>,
    /// <c>bf16</c>).</summary>
    /// <param name="config">A nanoVLM configuration file.</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidDataException">A value of the wrong type, naming the file and key.</exception>
    public TrainOptions With(NanoVlm.Loader.Configuration.NanovlmConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        double Num(string key, double fallback)
        {
            if (!config.TryGetValue(key, out var v)) return fallback;
            return v.ValueKind == System.Text.Json.JsonValueKind.Number
                ? v.GetDouble()
                : throw new InvalidDataException($"{config.Source}: key '{key}': expected a number, found {v.GetRawText()}");
        }
        long Int(string key, long fallback)
        {
            double d = Num(key, fallback);
            return d == Math.Floor(d) ? (long)d : throw new InvalidDataException($"{config.Source}: key '{key}': expected an integer, found {d}");
        }
        bool Frozen(string key)
        {
            if (!config.TryGetValue(key, out var v)) return false;
            return v.ValueKind switch
            {
                System.Text.Json.JsonValueKind.True => true,
                System.Text.Json.JsonValueKind.False => false,
                _ => throw new InvalidDataException($"{config.Source}: key '{key}': expected true or false, found {v.GetRawText()}"),
            };
        }
        var precision = Precision;
        if (config.TryGetValue("precision", out var p))
        {
            precision = (p.ValueKind == System.Text.Json.JsonValueKind.String ? TrainingPrecisions.Parse(p.GetString()) : null)
                ?? throw new InvalidDataException($"{config.Source}: key 'precision': expected one of {string.Join(", ", TrainingPrecisions.Names.Select(n => $"\"{n}\""))}, found {p.GetRawText()}");
        }
        var r = LearningRates;
        long trainEval = Int("train_eval_batches", TrainEvalBatches ?? -1);
        if (trainEval < -1) throw new InvalidDataException($"{config.Source}: key 'train_eval_batches': expected -1 (the whole set), 0 (none) or a batch count, found {trainEval}");
        return this with
        {
            LearningRates = new GroupLearningRates(
                Frozen("freeze_mp") ? 0 : Num("lr_mp", r.Projector),
                Frozen("freeze_vision_backbone") ? 0 : Num("lr_vision_backbone", r.Vision),
                Frozen("freeze_language_backbone") ? 0 : Num("lr_language_backbone", r.Language)),
            Lora = LoraOptions.From(config, Lora),
            TrainEvalBatches = trainEval < 0 ? null : (int)trainEval,
            GradientAccumulationSteps = (int)Int("gradient_accumulation_steps", GradientAccumulationSteps),
            MaxGradNorm = Num("max_grad_norm", MaxGradNorm),
            MaxTrainingSteps = Int("max_training_steps", MaxTrainingSteps),
            EvalInterval = (int)Int("eval_interval", EvalInterval),
            Precision = precision,
        };
    }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value out of range, named.</exception>
    public void Validate()
    {
        if (GradientAccumulationSteps < 1) throw new ArgumentException($"gradient_accumulation_steps must be ≥ 1 (is {GradientAccumulationSteps}).");
        if (MaxTrainingSteps < 1) throw new ArgumentException($"max_training_steps must be ≥ 1 (is {MaxTrainingSteps}).");
        if (EvalInterval < 0) throw new ArgumentException($"eval_interval must be ≥ 0 (is {EvalInterval}).");
        if (MaxGradNorm <= 0) throw new ArgumentException($"max_grad_norm must be > 0 (is {MaxGradNorm}).");
        if (ValidationBatches < 1) throw new ArgumentException($"validation batches must be ≥ 1 (is {ValidationBatches}).");
        var r = LearningRates;
        if (r.Projector < 0 || r.Vision < 0 || r.Language < 0) throw new ArgumentException("learning rates must be ≥ 0.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentException($"precision must be auto, fp32 or bf16 (is {(int)Precision}).");
        if (TrainEvalBatches < 0) throw new ArgumentException($"train_eval_batches must be ≥ 0 or null (is {TrainEvalBatches}).");
        Lora?.Validate();
    }
}
