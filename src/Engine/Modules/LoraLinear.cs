using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// A low-rank adapter of one linear layer, as PEFT's <c>lora.Linear</c> computes it (peft/tuners/lora/layer.py):
/// <c>y = base(x) + lora_B(lora_A(dropout(x))) · alpha / r</c>, with <c>lora_A</c> [r, in] initialised
/// kaiming-uniform(a = √5) and <c>lora_B</c> [out, r] zero, so a fresh adapter leaves the layer's output unchanged.
/// The adapter holds only A and B; the base layer's weight and bias stay where they are (and keep nanoVLM's names).
/// </summary>
public sealed class LoraLinear : nn.Module
{
    private readonly Parameter _a, _b;
    private readonly Scalar _scaling; // held: see Scalars

    /// <summary>Creates an adapter for a layer <paramref name="inFeatures"/> → <paramref name="outFeatures"/>.</summary>
    /// <param name="inFeatures">The base layer's input features.</param>
    /// <param name="outFeatures">The base layer's output features.</param>
    /// <param name="rank">r.</param>
    /// <param name="alpha">lora_alpha (scaling = alpha / r).</param>
    /// <param name="dropout">Dropout probability on the adapter's input (training only).</param>
    /// <param name="device">Where A and B live (the base layer's device).</param>
    public LoraLinear(long inFeatures, long outFeatures, int rank, double alpha, double dropout, Device? device = null) : base("LoraLinear")
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "The LoRA rank must be ≥ 1.");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "The LoRA dropout must be in [0, 1).");
        Rank = rank;
        Scaling = alpha / rank;
        _scaling = Scaling.ToScalar();
        Dropout = dropout;
        _a = new Parameter(torch.empty(rank, inFeatures));
        _b = new Parameter(torch.zeros(outFeatures, rank));
        using (torch.no_grad()) nn.init.kaiming_uniform_(_a, a: Math.Sqrt(5));
        register_parameter("lora_A", _a);
        register_parameter("lora_B", _b);
        if (device is not null && device.type != DeviceType.CPU) this.to(device);
    }

    /// <summary>r.</summary>
    public int Rank { get; }

    /// <summary>alpha / r.</summary>
    public double Scaling { get; }

    /// <summary>Dropout probability on the adapter's input.</summary>
    public double Dropout { get; }

    /// <summary>lora_A [r, in].</summary>
    public Parameter A => _a;

    /// <summary>lora_B [out, r].</summary>
    public Parameter B => _b;

    /// <summary>The adapter's contribution for input <paramref name="x"/> [..., in]: <c>B(A(dropout(x))) · scaling</c>.</summary>
    /// <param name="x">The base layer's input.</param>
    /// <param name="training">Whether dropout is active (the host module's mode).</param>
    /// <returns>[..., out].</returns>
    public Tensor Delta(Tensor x, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        var h = Dropout > 0 && training ? nn.functional.dropout(x, Dropout, true) : x;
        // Inside an autocast region both products run in its dtype (as PEFT's lora_A / lora_B Linear modules do under
        // torch.autocast); outside one A and B are cast to the input's dtype.
        return Autocast.Linear(Autocast.Linear(h, _a, null), _b, null).mul(_scaling).MoveToOuterDisposeScope();
    }

    /// <summary>The weight update the adapter stands for, <c>B·A·scaling</c> [out, in] (what merging adds to the base
    /// weight).</summary>
    /// <returns>A new tensor without a graph.</returns>
    public Tensor DeltaWeight()
    {
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        return _b.matmul(_a).mul(_scaling).MoveToOuterDisposeScope();
    }
}
