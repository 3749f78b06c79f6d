using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>
/// torch 1.13's <c>clip_grad_norm_</c> (<c>torch/nn/utils/clip_grad.py</c>, L2 norm) with held scalars (TorchSharp's own
/// creates temporary ones per call; see <see cref="AdamWOptimizer"/>): the norm of the per-parameter gradient norms,
/// then every gradient times <c>min(1, max_norm / (total + 1e-6))</c>.
/// </summary>
public static class GradientClipping
{
    private static readonly Scalar Epsilon = 1e-6.ToScalar();

    /// <summary>Clips the gradients of <paramref name="parameters"/> in place.</summary>
    /// <param name="parameters">The parameters (those without a gradient are left out, as torch does).</param>
    /// <param name="maxNorm">The threshold.</param>
    /// <returns>The total L2 norm before clipping (0 without any gradient).</returns>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0;
        // Tensor.norm(p) passes p as a plain float (linalg.vector_norm would make a temporary Scalar of it).
        var total = stack(grads.Select(g => g.norm(2f))).norm(2f);
        using var max = maxNorm.ToScalar();
        // torch: clip_coef = max_norm / (total_norm + 1e-6), i.e. Tensor.__rdiv__: reciprocal() * max_norm.
        var coefficient = total.add(Epsilon, Scalars.One).reciprocal().mul(max).clamp_max(Scalars.One);
        foreach (var g in grads) g.mul_(coefficient);
        return total.item<float>();
    }
}
