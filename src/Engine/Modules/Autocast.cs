using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// The part of <c>torch.autocast(device, dtype=torch.bfloat16)</c> that nanoVLM's train.py relies on, for TorchSharp
/// (which has no autocast): while a region is open on the calling thread, the model's linear layers, its patch
/// convolution and its attention cast their inputs and weights to the low-precision dtype per call and return that dtype;
/// everything else keeps the dtype its inputs have. Parameters are never converted (they stay float32 "master
/// weights" and get float32 gradients through the casts).
/// </summary>
/// <remarks>
/// With nanoVLM's model this reproduces autocast's dtype map exactly: residual streams stay float32 (float32 + bf16
/// promotes), RMSNorm and LayerNorm see float32 residuals, embeddings are float32, the ViT's GELU and the LM's SiLU run
/// on bf16 linear outputs, q and k leave RoPE as float32 (bf16 × float32 cos) while v stays bf16, attention gets q, k, v
/// and its additive mask in bf16, the projector's bf16 output is cast to float32 where it is merged into the
/// embeddings, logits are bf16 and the cross-entropy runs in float32. One deliberate difference: the attention mask is
/// built with <c>finfo(bfloat16).min</c>, a finite value, where nanoVLM builds <c>finfo(float32).min</c> from the
/// float32 q and autocast rounds it to −∞ in bf16 (fully masked left-padding rows would then be all −∞ and can turn to
/// NaN). Like torch's autocast the region is per thread; the backward pass needs none (the casts are in the graph).
/// </remarks>
public static class Autocast
{
    [ThreadStatic] private static ScalarType? _dtype;

    /// <summary>The low-precision dtype of the region open on this thread, or null outside one.</summary>
    public static ScalarType? Dtype => _dtype;

    /// <summary>Opens a region (until the returned object is disposed; regions nest and restore the outer one).</summary>
    /// <param name="dtype"><see cref="ScalarType.BFloat16"/> or <see cref="ScalarType.Float16"/>; null opens a region
    /// without low precision (float32 inside even when an outer region is open).</param>
    /// <returns>Closes the region.</returns>
    public static IDisposable Enable(ScalarType? dtype)
    {
        if (dtype is { } d && d != ScalarType.BFloat16 && d != ScalarType.Float16)
            throw new ArgumentException($"Autocast lowers to BFloat16 or Float16, not {d}.", nameof(dtype));
        var region = new Region(_dtype);
        _dtype = dtype;
        return region;
    }

    /// <summary>The dtype attention runs in for inputs of <paramref name="dtype"/>: the region's, else the input's
    /// (the mask is built in it, so its large negative is finite there).</summary>
    /// <param name="dtype">The dtype of the hidden states.</param>
    /// <returns>The attention dtype.</returns>
    public static ScalarType AttentionDtype(ScalarType dtype) => _dtype ?? dtype;

    /// <summary><paramref name="layer"/>(<paramref name="x"/>), in the region's dtype inside one.</summary>
    /// <param name="layer">A linear layer (its weight and bias stay as they are).</param>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public static Tensor Linear(Linear layer, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return _dtype is null ? layer.forward(x) : Linear(x, layer.weight!, layer.bias);
    }

    /// <summary><c>F.linear(x, weight, bias)</c>; inside a region every operand is cast to the region's dtype, outside
    /// one the weight and bias are cast to <paramref name="x"/>'s dtype when they differ.</summary>
    /// <param name="x">The input.</param>
    /// <param name="weight">[out, in].</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>The output.</returns>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        var dtype = _dtype ?? x.dtype;
        using var scope = NewDisposeScope();
        if (bias is null || _dtype is null || x.dim() <= 2)
            return nn.functional.linear(Cast(x, dtype), Cast(weight, dtype), bias is null ? null : Cast(bias, dtype))
                .MoveToOuterDisposeScope();
        // libtorch's CPU linear over a 3-d bf16 input rounds x·Wᵀ to bf16 and then rounds again after adding the bias;
        // over a 2-d input (addmm) it adds the bias to the float32 accumulator and rounds once, as CUDA's GEMM bias
        // epilogue and torch's own CPU addmm do. So the rows are flattened: one rounding, like nanoVLM's run.
        long[] shape = [.. x.shape[..^1], weight.shape[0]];
        var flat = Cast(x, dtype).reshape(-1, x.shape[^1]);
        return nn.functional.linear(flat, Cast(weight, dtype), Cast(bias, dtype)).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="layer"/>(<paramref name="x"/>) for a convolution with stride <paramref name="stride"/>
    /// and no padding, in the region's dtype inside one.</summary>
    /// <param name="layer">The convolution (its weight and bias stay as they are).</param>
    /// <param name="x">[N, C, H, W].</param>
    /// <param name="stride">The layer's stride (both directions).</param>
    /// <returns>The output.</returns>
    public static Tensor Conv2d(Conv2d layer, Tensor x, long stride)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (_dtype is not { } dtype) return layer.forward(x);
        using var scope = NewDisposeScope();
        var bias = layer.bias is null ? null : Cast(layer.bias, dtype);
        return nn.functional.conv2d(Cast(x, dtype), Cast(layer.weight!, dtype), bias, strides: [stride, stride])
            .MoveToOuterDisposeScope();
    }

    /// <summary>Scaled dot-product attention (default scale 1/√head_dim); inside a region q, k, v and the mask are cast
    /// to the region's dtype, as autocast does for <c>scaled_dot_product_attention</c>.</summary>
    /// <param name="q">[B, H, T, hd].</param>
    /// <param name="k">[B, H, T_kv, hd].</param>
    /// <param name="v">[B, H, T_kv, hd].</param>
    /// <param name="mask">Additive mask or null; built in <see cref="AttentionDtype"/> so that its masked entries
    /// stay finite after the cast.</param>
    /// <param name="dropout">Dropout probability.</param>
    /// <param name="causal">Whether SDPA applies its causal mask.</param>
    /// <returns>[B, H, T, hd] in the region's dtype (or q's outside one).</returns>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropout, bool causal)
    {
        ArgumentNullException.ThrowIfNull(q);
        var dtype = _dtype ?? q.dtype;
        using var scope = NewDisposeScope();
        var m = mask is null ? null : Cast(mask, dtype);
        return nn.functional.scaled_dot_product_attention(Cast(q, dtype), Cast(k, dtype), Cast(v, dtype), m, dropout, causal)
            .MoveToOuterDisposeScope();
    }

    private static Tensor Cast(Tensor t, ScalarType dtype) => t.dtype == dtype ? t : t.to(dtype);

    private sealed class Region(ScalarType? outer) : IDisposable
    {
        private bool _closed;

        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            _dtype = outer;
        }
    }
}
