using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>The learning rates of nanoVLM's three parameter groups; a rate of 0 freezes the group.</summary>
/// <param name="Projector">lr_mp (nanoVLM: 0.00512).</param>
/// <param name="Vision">lr_vision_backbone (5e-5).</param>
/// <param name="Language">lr_language_backbone (5e-5).</param>
public readonly record struct GroupLearningRates(double Projector, double Vision, double Language)
{
    /// <summary>nanoVLM's defaults.</summary>
    public static GroupLearningRates Nanovlm => new(0.00512, 5e-5, 5e-5);
}

/// <summary>What one optimizer step did.</summary>
/// <param name="GradNorm">The L2 norm of all gradients before clipping (what train.py logs as grad_norm).</param>
/// <param name="LearningRates">The rate each group stepped with, in group order (MP, vision, LM; frozen groups left out).</param>
public readonly record struct OptimizerStepResult(double GradNorm, IReadOnlyList<double> LearningRates);

/// <summary>
/// train.py's optimizer recipe: AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01 on every parameter) over the
/// groups [MP, vision encoder, decoder] with their own peak rates (a group whose rate is 0 gets no gradients and no
/// optimizer state), gradients accumulated over micro-batches as loss / GA, clipped to <c>max_grad_norm</c>, rates set
/// by <see cref="LearningRateSchedule"/> before every step. With LoRA adapters, a group that has adapters optimizes
/// only them (its own parameters frozen).
/// </summary>
public sealed class OptimizerRecipe : IDisposable
{
    private readonly AdamWOptimizer _optimizer;
    private readonly List<Parameter> _trainable;
    private readonly double[] _peakRates;
    private readonly string[] _groupNames;

    /// <summary>Creates the optimizer for <paramref name="model"/>.</summary>
    /// <param name="model">The model; frozen groups get <c>requires_grad = false</c>.</param>
    /// <param name="rates">Peak rates per group.</param>
    /// <param name="gradientAccumulationSteps">Micro-batches per optimizer step.</param>
    /// <param name="maxGradNorm">Clipping threshold.</param>
    /// <param name="maxSteps">max_training_steps (the schedule's length).</param>
    /// <param name="lora">LoRA adapters attached to the model, or null: a group with adapters trains only its adapters
    /// (at the group's rate) and its own parameters are frozen.</param>
    public OptimizerRecipe(VisionLanguageModel model, GroupLearningRates rates, int gradientAccumulationSteps = 1,
        double maxGradNorm = 1.0, long maxSteps = 40000, LoraAdapters? lora = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (gradientAccumulationSteps < 1) throw new ArgumentOutOfRangeException(nameof(gradientAccumulationSteps), "must be ≥ 1");
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), "must be ≥ 1");
        GradientAccumulationSteps = gradientAccumulationSteps;
        MaxGradNorm = maxGradNorm;
        MaxSteps = maxSteps;
        var groups = new List<AdamWGroup>();
        var peaks = new List<double>();
        var names = new List<string>();
        _trainable = [];
        foreach (var (name, module, lr, prefix) in new (string, nn.Module, double, string)[]
                 { ("MP", model.Projector, rates.Projector, "MP."), ("vision", model.VisionEncoder, rates.Vision, "vision_encoder."), ("LM", model.Decoder, rates.Language, "decoder.") })
        {
            // The tied head is the embedding's tensor under a second name (TorchSharp lists it as a second Parameter
            // object): optimizing or clipping it twice would double its step and its share of the norm.
            bool tied = model.Config.LmTieWeights && name == "LM";
            var ps = module.named_parameters().Where(np => !(tied && np.name == "head.weight")).Select(np => np.parameter).ToList();
            var adapters = lora?.ParametersUnder(prefix) ?? [];
            if (lr <= 0 || adapters.Count > 0)
            {
                foreach (var p in ps) p.requires_grad = false;
                if (lr <= 0)
                {
                    foreach (var p in adapters) p.requires_grad = false;
                    continue;
                }
                ps = [.. adapters];
            }
            foreach (var p in ps) p.requires_grad = true;
            groups.Add(new AdamWGroup(name, ps) { LearningRate = lr });
            peaks.Add(lr);
            names.Add(name);
            _trainable.AddRange(ps);
        }
        if (groups.Count == 0) throw new ArgumentException("Every group's learning rate is 0: nothing to train.", nameof(rates));
        _optimizer = new AdamWOptimizer(groups, 0.9, 0.999, 1e-8, 0.01);
        _peakRates = [.. peaks];
        _groupNames = [.. names];
    }

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradientAccumulationSteps { get; }

    /// <summary>Clipping threshold.</summary>
    public double MaxGradNorm { get; }

    /// <summary>Length of the schedule.</summary>
    public long MaxSteps { get; }

    /// <summary>Names of the trained groups (MP, vision, LM), in order.</summary>
    public IReadOnlyList<string> GroupNames => _groupNames;

    /// <summary>The trained parameters (what clipping sees).</summary>
    public IReadOnlyList<Parameter> Parameters => _trainable;

    /// <summary>The underlying optimizer (its groups and state).</summary>
    public AdamWOptimizer Optimizer => _optimizer;

    /// <summary>Back-propagates one micro-batch's mean loss, scaled by 1 / GA as train.py does.</summary>
    /// <param name="loss">The micro-batch's loss (a scalar with a graph).</param>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (GradientAccumulationSteps > 1)
        {
            using var ga = GradientAccumulationSteps.ToScalar();
            using var scaled = loss.div(ga);
            scaled.backward();
        }
        else loss.backward();
    }

    /// <summary>Back-propagates <paramref name="loss"/> × <paramref name="weight"/> instead of loss / GA (the global
    /// token mean of data-parallel training weighs each micro-batch by its labelled tokens; the gradient reducer divides
    /// by the step's total).</summary>
    /// <param name="loss">The micro-batch's loss (a scalar with a graph).</param>
    /// <param name="weight">The factor.</param>
    public void Backward(Tensor loss, double weight)
    {
        ArgumentNullException.ThrowIfNull(loss);
        using var factor = weight.ToScalar();
        using var weighted = loss.mul(factor);
        weighted.backward();
    }

    /// <summary>Clips, sets each group's rate for step <paramref name="step"/>, steps and zeroes the gradients.</summary>
    /// <param name="step">Completed optimizer steps so far (0 for the first).</param>
    /// <returns>The pre-clip gradient norm and the rates used.</returns>
    public OptimizerStepResult Step(long step)
    {
        double norm = GradientClipping.ClipGradNorm(_trainable, MaxGradNorm);
        var rates = new double[_peakRates.Length];
        int g = 0;
        foreach (var group in _optimizer.Groups)
        {
            rates[g] = LearningRateSchedule.At(step, _peakRates[g], MaxSteps);
            group.LearningRate = rates[g];
            g++;
        }
        _optimizer.Step();
        _optimizer.ZeroGrad();
        return new OptimizerStepResult(norm, rates);
    }

    /// <inheritdoc/>
    public void Dispose() => _optimizer.Dispose();
}
