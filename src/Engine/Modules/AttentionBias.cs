using NanoVlm.Engine.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// What one decoder call masks, built once per call and shared by every block: either libtorch's causal flag with no
/// mask (fast path), or one additive float mask [B, 1, T, T_kv] (0 = attend, a large negative = masked).
/// </summary>
/// <remarks>
/// libtorch's SDPA refuses an explicit mask together with <c>is_causal</c> on some backends, so where nanoVLM passes
/// both (key padding + causal) the causal part is folded into the mask here: −inf above the diagonal plus
/// <c>finfo(dtype).min</c> on padded keys — the sum nanoVLM's own non-SDPA fallback computes. Masked entries are finite
/// in every row that has an unmasked key, and no row is all −inf, so no NaN can appear.
/// </remarks>
public sealed class AttentionBias : IDisposable
{
    private AttentionBias(Tensor? mask, bool isCausal)
    {
        Mask = mask;
        IsCausal = isCausal;
    }

    /// <summary>The additive mask, or null.</summary>
    public Tensor? Mask { get; }

    /// <summary>Whether SDPA applies its own (upper-left) causal mask.</summary>
    public bool IsCausal { get; }

    /// <summary>nanoVLM's semantics for a call with <paramref name="queries"/> new tokens over
    /// <paramref name="keys"/> keys: causal only when the two are equal and above 1 (prefill / full forward), plus the
    /// key-padding mask <c>attention_mask[:, :keys]</c> when one is given.</summary>
    /// <param name="attentionMask">[B, ≥keys], 1 = real token, 0 = padding; null = no padding.</param>
    /// <param name="queries">T.</param>
    /// <param name="keys">T_kv.</param>
    /// <param name="dtype">The dtype attention runs in (its finfo.min masks padding).</param>
    /// <returns>The bias.</returns>
    public static AttentionBias Nanovlm(Tensor? attentionMask, long queries, long keys, ScalarType dtype)
    {
        bool causal = queries == keys && queries > 1;
        if (attentionMask is null) return new AttentionBias(null, causal);
        using var scope = NewDisposeScope();
        var m = attentionMask.narrow(1, 0, keys);
        // (1 − mask) · finfo.min, as nanoVLM writes it: 0 where real, finfo.min where padding.
        var pad = m.unsqueeze(1).unsqueeze(2).to(ScalarType.Float32).neg().add_(Scalars.One, Scalars.One).mul_(Scalars.MinValue(dtype)); // [B,1,1,T_kv]
        Tensor bias = pad;
        if (causal)
        {
            var upper = torch.ones(queries, keys, dtype: ScalarType.Bool, device: m.device).triu(1);
            var causalBias = torch.zeros(queries, keys, dtype: ScalarType.Float32, device: m.device)
                .masked_fill(upper, Scalars.NegativeInfinity);
            bias = pad.Plus(causalBias.unsqueeze(0).unsqueeze(0)); // [B,1,T,T_kv]
        }
        return new AttentionBias(bias.to(dtype).MoveToOuterDisposeScope(), false);
    }

    /// <summary>Document masking over packed sequences: a token attends to earlier tokens of its own sample that are
    /// not padding (and always to itself, so padding rows stay finite).</summary>
    /// <param name="segmentIds">[B, T] int64, the sample index of each token (any value for tail padding).</param>
    /// <param name="attentionMask">[B, T], 1 = real token.</param>
    /// <param name="dtype">The dtype attention runs in.</param>
    /// <returns>The bias.</returns>
    public static AttentionBias Document(Tensor segmentIds, Tensor attentionMask, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        long t = segmentIds.shape[1];
        var same = segmentIds.unsqueeze(2).eq(segmentIds.unsqueeze(1));                              // [B,T,T]
        var causal = torch.ones(t, t, dtype: ScalarType.Bool, device: segmentIds.device).tril().unsqueeze(0);
        var keyOk = attentionMask.ne(Scalars.Zero).unsqueeze(1);                                                   // [B,1,T]
        var diag = torch.eye(t, dtype: ScalarType.Bool, device: segmentIds.device).unsqueeze(0);
        var allowed = (same.logical_and(causal).logical_and(keyOk)).logical_or(diag);
        var bias = torch.zeros(allowed.shape, dtype: dtype, device: segmentIds.device)
            .masked_fill(allowed.logical_not(), Scalars.MinValue(dtype));
        return new AttentionBias(bias.unsqueeze(1).MoveToOuterDisposeScope(), false);
    }

    /// <summary><c>torch.finfo(dtype).min</c>.</summary>
    /// <param name="dtype">A floating dtype.</param>
    /// <returns>The most negative finite value.</returns>
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.Float64 => double.MinValue,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        _ => throw new ArgumentException($"Attention runs in a floating dtype, not {dtype}.", nameof(dtype)),
    };

    /// <inheritdoc/>
    public void Dispose() => Mask?.Dispose();
}
