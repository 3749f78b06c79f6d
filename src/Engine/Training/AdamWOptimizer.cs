using System.Globalization;
using NanoVlm.Engine.Checkpoints;
using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>One parameter group of <see cref="AdamWOptimizer"/>.</summary>
/// <param name="Name">The group's name (MP, vision, LM), also its key prefix in the state file.</param>
/// <param name="Parameters">The parameters it optimizes.</param>
public sealed record AdamWGroup(string Name, IReadOnlyList<Parameter> Parameters)
{
    /// <summary>The rate of the next step (set by the schedule before each step).</summary>
    public double LearningRate { get; set; }
}

/// <summary>
/// torch 1.13's AdamW (<c>torch/optim/adamw.py</c>, <c>_single_tensor_adamw</c>, amsgrad and maximize off) with every
/// number handed to libtorch as a <see cref="Scalar"/> this class holds for the duration of the call: TorchSharp's
/// own AdamW and <c>clip_grad_norm_</c> create temporary scalars per call that a garbage collection during the native
/// call can free (the failure the engine's held scalars exist for). State (step, exp_avg, exp_avg_sq) is created on a
/// parameter's first step with a gradient, as torch does, so a frozen parameter never gets any.
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    private const string Format = "nanovlm-adamw-1";
    private readonly double _beta1, _beta2, _eps, _weightDecay;
    private readonly Scalar _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsScalar;
    private readonly Dictionary<Parameter, ParameterState> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer.</summary>
    /// <param name="groups">The groups, in order.</param>
    /// <param name="beta1">β1 (train.py: torch's default 0.9).</param>
    /// <param name="beta2">β2 (0.999).</param>
    /// <param name="eps">ε (1e-8).</param>
    /// <param name="weightDecay">Decoupled weight decay (torch's AdamW default 0.01).</param>
    public AdamWOptimizer(IReadOnlyList<AdamWGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Groups = groups;
        (_beta1, _beta2, _eps, _weightDecay) = (beta1, beta2, eps, weightDecay);
        _beta1Scalar = beta1.ToScalar();
        _beta2Scalar = beta2.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _epsScalar = eps.ToScalar();
    }

    /// <summary>The groups, in order.</summary>
    public IReadOnlyList<AdamWGroup> Groups { get; }

    /// <summary>Steps taken by <paramref name="parameter"/> (0: it has no state).</summary>
    /// <param name="parameter">A parameter of a group.</param>
    /// <returns>The count.</returns>
    public long StepsOf(Parameter parameter) => _state.TryGetValue(parameter, out var s) ? s.Step : 0;

    /// <summary>One AdamW step over every parameter that has a gradient.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        foreach (var group in Groups)
        {
            double lr = group.LearningRate;
            using var decay = (1 - lr * _weightDecay).ToScalar();
            foreach (var p in group.Parameters)
            {
                using var scope = NewDisposeScope();
                var grad = p.grad;
                if (grad is null) continue;
                if (!_state.TryGetValue(p, out var s))
                    _state[p] = s = new ParameterState(zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                s.Step++;
                p.mul_(decay);
                s.ExpAvg.mul_(_beta1Scalar).add_(grad, _oneMinusBeta1);
                s.ExpAvgSq.mul_(_beta2Scalar).addcmul_(grad, grad, _oneMinusBeta2);
                double biasCorrection1 = 1 - Math.Pow(_beta1, s.Step), biasCorrection2 = 1 - Math.Pow(_beta2, s.Step);
                using var stepSize = (-(lr / biasCorrection1)).ToScalar();
                using var bias2Sqrt = Math.Sqrt(biasCorrection2).ToScalar();
                var denom = s.ExpAvgSq.sqrt();
                denom.div_(bias2Sqrt).add_(_epsScalar, Scalars.One);
                p.addcdiv_(s.ExpAvg, denom, stepSize);
            }
        }
    }

    /// <summary>Zeroes every gradient (torch 1.13's <c>zero_grad(set_to_none=False)</c>).</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        foreach (var p in Groups.SelectMany(g => g.Parameters))
            if (p.grad is { } g) g.zero_();
    }

    /// <summary>Writes the state as safetensors: <c>GROUP.I.exp_avg</c> / <c>.exp_avg_sq</c> per parameter I of a group
    /// that has state, its step count in the metadata under <c>GROUP.I.step</c>.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var metadata = new Dictionary<string, string> { ["format"] = Format, ["groups"] = string.Join(",", Groups.Select(g => g.Name)) };
        foreach (var (group, i, p) in Indexed())
        {
            if (!_state.TryGetValue(p, out var s)) continue;
            string key = $"{group.Name}.{i}";
            tensors.Add(new(key + ".exp_avg", s.ExpAvg.cpu()));
            tensors.Add(new(key + ".exp_avg_sq", s.ExpAvgSq.cpu()));
            metadata[key + ".step"] = s.Step.ToString(CultureInfo.InvariantCulture);
        }
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        SafeTensorsWriter.Write(fs, tensors, metadata);
    }

    /// <summary>Replaces the state with the one <see cref="Save"/> wrote for the same groups and shapes.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is damaged, or holds state for other groups or shapes (naming
    /// the file and the tensor).</exception>
    public void Load(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: not an optimizer state written by this trainer (format '{format}', expected '{Format}').");
        string groups = string.Join(",", Groups.Select(g => g.Name));
        if (file.Metadata.GetValueOrDefault("groups") != groups)
            throw new InvalidDataException($"{path}: optimizer state of the groups {file.Metadata.GetValueOrDefault("groups")}, but this run trains {groups} (resume with the same learning rates, frozen parts and LoRA settings).");
        var loaded = new Dictionary<Parameter, ParameterState>(ReferenceEqualityComparer.Instance);
        int expected = 0;
        try
        {
            foreach (var (group, i, p) in Indexed())
            {
                string key = $"{group.Name}.{i}";
                if (!file.Metadata.TryGetValue(key + ".step", out var stepText)) continue;
                if (!long.TryParse(stepText, CultureInfo.InvariantCulture, out var step) || step < 1)
                    throw new InvalidDataException($"{path}: '{key}.step' is '{stepText}', not a step count.");
                loaded[p] = new ParameterState(Read(file, key + ".exp_avg", p), Read(file, key + ".exp_avg_sq", p)) { Step = step };
                expected += 2;
            }
            if (file.Tensors.Count != expected)
                throw new InvalidDataException($"{path}: {file.Tensors.Count} tensors, but this run's parameters take {expected} (another model or other trained parts).");
        }
        catch
        {
            foreach (var s in loaded.Values) s.Dispose();
            throw;
        }
        foreach (var s in _state.Values) s.Dispose();
        _state.Clear();
        foreach (var (p, s) in loaded) _state[p] = s;
    }

    private static Tensor Read(SafeTensorsFile file, string name, Parameter like)
    {
        if (!file.Tensors.TryGetValue(name, out var entry))
            throw new InvalidDataException($"{file.Path}: tensor '{name}' is missing.");
        if (!entry.Shape.SequenceEqual(like.shape))
            throw new InvalidDataException($"{file.Path}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], the parameter [{string.Join(", ", like.shape)}].");
        using var view = file.View(name);
        return view.to(like.dtype, like.device, copy: true).DetachFromDisposeScope();
    }

    private IEnumerable<(AdamWGroup Group, int Index, Parameter Parameter)> Indexed()
        => Groups.SelectMany(g => g.Parameters.Select((p, i) => (g, i, p)));

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var s in _state.Values) s.Dispose();
        _state.Clear();
        foreach (var s in new[] { _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsScalar }) s.Dispose();
    }

    private sealed class ParameterState(Tensor expAvg, Tensor expAvgSq) : IDisposable
    {
        public long Step { get; set; }
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }
}
