using NanoVlm.Engine;
using NanoVlm.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Benchmarks.Engine;

/// <summary>A model plus train.py's optimizer recipe over one <see cref="EngineBenchCase"/>: the unit both the harness
/// and the BenchmarkDotNet suite time.</summary>
public sealed class EngineTrainer : IDisposable
{
    private long _step;

    /// <summary>nanoVLM's random init under seed 0 and the recipe with nanoVLM's group rates.</summary>
    /// <param name="benchCase">The configuration and batch.</param>
    public EngineTrainer(EngineBenchCase benchCase)
    {
        Case = benchCase;
        torch.manual_seed(0);
        Model = new VisionLanguageModel(benchCase.Config, benchCase.ImageTokenId);
        Recipe = new OptimizerRecipe(Model, GroupLearningRates.Nanovlm, maxGradNorm: 1.0, maxSteps: 40000);
    }

    /// <summary>The batch.</summary>
    public EngineBenchCase Case { get; }

    /// <summary>The model.</summary>
    public VisionLanguageModel Model { get; }

    /// <summary>The optimizer recipe.</summary>
    public OptimizerRecipe Recipe { get; }

    /// <summary>Forward, loss, backward, clip, AdamW step, zero_grad; every temporary disposed.</summary>
    /// <returns>The loss.</returns>
    public float TrainStep()
    {
        Model.train();
        using var scope = torch.NewDisposeScope();
        var hidden = Model.Forward(Case.InputIds, Case.Tiles, Case.AttentionMask);
        var loss = Model.Loss(hidden, Case.Labels);
        Recipe.Backward(loss);
        Recipe.Step(_step++);
        return loss.item<float>();
    }

    /// <summary>Greedy generation with the KV cache (nanoVLM's <c>generate(greedy=True)</c>).</summary>
    /// <param name="newTokens">Decode steps.</param>
    /// <returns>The number of ids produced.</returns>
    public long Generate(int newTokens)
    {
        Model.eval();
        using var ids = Model.Generate(Case.InputIds, Case.Tiles, Case.AttentionMask,
            new GenerationOptions { MaxNewTokens = newTokens, Greedy = true });
        return ids.shape[1];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Recipe.Dispose();
        Model.Dispose();
    }
}
