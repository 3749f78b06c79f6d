using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Text;

namespace NanoVlm.Engine.Training;

/// <summary>A model, loop and data configuration to start from.</summary>
/// <param name="Name">The preset's name.</param>
/// <param name="Model">The model configuration.</param>
/// <param name="Training">The loop settings.</param>
/// <param name="Loader">The data settings (sequence length, tile size and image tokens agree with the model).</param>
public sealed record TrainingPreset(string Name, VlmConfig Model, TrainOptions Training, DataLoaderOptions Loader);

/// <summary>Built-in presets: <c>tiny</c> (learns the built-in sample data on a CPU in a couple of minutes) and
/// <c>nanovlm</c> (nanoVLM's defaults: the 460M SigLIP2-B/16-512 + SmolLM2-360M shape and train.py's settings).</summary>
public static class TrainingPresets
{
    /// <summary>Preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "nanovlm"];

    /// <summary>The preset called <paramref name="name"/>, sized for <paramref name="tokenizer"/>'s vocabulary.</summary>
    /// <param name="name">tiny or nanovlm.</param>
    /// <param name="tokenizer">The tokenizer (its vocabulary sizes the embedding).</param>
    /// <returns>The preset.</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static TrainingPreset Get(string name, VlmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return name switch
        {
            "tiny" => Tiny(tokenizer),
            "nanovlm" => Nanovlm(tokenizer),
            _ => throw new ArgumentException($"Unknown preset '{name}'; presets: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    // ViT 96-d × 2 on 64-pixel tiles (8-pixel patches → 64 patches, pixel shuffle 2 → 16 tokens per tile), LM 128-d × 4
    // with GQA 4/2, 1024-token packs: about 1.6M parameters with the built-in tokenizer, ~0.1 s per step on two cores.
    // Trained from scratch, so the learning rates are far above nanoVLM's fine-tuning rates.
    private static TrainingPreset Tiny(VlmTokenizer tokenizer)
    {
        var model = new VlmConfig
        {
            VitHiddenDim = 96, VitInterDim = 384, VitPatchSize = 8, VitImgSize = 64, VitNHeads = 4, VitNBlocks = 2,
            VitModelType = "none (trained from scratch)",
            LmHiddenDim = 128, LmInterDim = 352, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 4, LmReBase = 10000,
            LmBaseVocabSize = tokenizer.BaseVocabularySize, ExtraTokenAmount = tokenizer.VocabularySize - tokenizer.BaseVocabularySize,
            LmVocabSize = tokenizer.VocabularySize, LmMaxLength = 1024, LmModelType = "none (trained from scratch)",
            LmTokenizer = "built-in (NanoVlm.Loader default tokenizer)",
            MpPixelShuffleFactor = 2, MpImageTokenLength = 16, MaxImgSize = 128, VlmLoadBackboneWeights = false,
            HfRepoName = "nanoVLM-tiny",
        };
        var training = new TrainOptions
        {
            LearningRates = new GroupLearningRates(3e-3, 1e-3, 2e-3),
            GradientAccumulationSteps = 1,
            MaxTrainingSteps = 300,
            EvalInterval = 100,
            ValidationBatches = 16,
            TrainEvalBatches = 16, // a sample of the training set per epoch: a whole pass would add a third to the run
        };
        return new TrainingPreset("tiny", model, training, LoaderFor(model) with { BatchSize = 2 });
    }

    private static TrainingPreset Nanovlm(VlmTokenizer tokenizer)
    {
        var model = new VlmConfig();
        if (tokenizer.VocabularySize > model.LmVocabSize)
            model.LmVocabSize = tokenizer.VocabularySize;
        return new TrainingPreset("nanovlm", model, new TrainOptions(), LoaderFor(model));
    }

    /// <summary>Loader settings that agree with <paramref name="model"/> (sequence length, tile size, image tokens,
    /// image size) over an endless stream (the loop stops at max_training_steps).</summary>
    /// <param name="model">The model configuration.</param>
    /// <param name="batchSize">Packs per micro-batch (nanoVLM's batch_size).</param>
    /// <returns>The options.</returns>
    public static DataLoaderOptions LoaderFor(VlmConfig model, int batchSize = 2) => new()
    {
        LmMaxLength = model.LmMaxLength,
        MaxSampleLength = model.LmMaxLength,
        ImageTokenLength = model.MpImageTokenLength,
        BatchSize = batchSize,
        Epochs = null,
        Images = ImagePipelineOptions.Default with
        {
            SplitSize = model.VitImgSize,
            MaxSideLength = model.MaxImgSize,
            ResizeToMaxSide = model.ResizeToMaxSideLen,
        },
    };
}
