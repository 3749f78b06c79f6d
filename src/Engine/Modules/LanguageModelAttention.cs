using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// Grouped-query attention of nanoVLM's decoder (LanguageModelGroupedQueryAttention): bias-free q/k/v/out projections,
/// RoPE on q and k, the KV cache holding post-RoPE keys of the KV heads (un-repeated), K/V repeated per group for SDPA.
/// </summary>
public sealed class LanguageModelAttention : nn.Module, IAdaptableModule
{
    private readonly Linear _q, _k, _v, _out;
    private readonly int _heads, _kvHeads, _headDim, _dim;
    private readonly double _dropout;

    /// <summary>Creates the attention.</summary>
    /// <param name="cfg">The model configuration.</param>
    public LanguageModelAttention(VlmConfig cfg) : base("LanguageModelGroupedQueryAttention")
    {
        _dim = cfg.LmHiddenDim;
        _heads = cfg.LmNHeads;
        _kvHeads = cfg.LmNKvHeads;
        _headDim = cfg.LmHeadDim;
        _dropout = cfg.LmDropout;
        _q = Init.Linear(_dim, _dim, bias: false);
        _k = Init.Linear(_dim, (long)_headDim * _kvHeads, bias: false);
        _v = Init.Linear(_dim, (long)_headDim * _kvHeads, bias: false);
        _out = Init.Linear(_dim, _dim, bias: false);
        register_module("q_proj", _q);
        register_module("k_proj", _k);
        register_module("v_proj", _v);
        register_module("out_proj", _out);
        Adapters = new LinearAdapters(("q_proj", _q), ("k_proj", _k), ("v_proj", _v), ("out_proj", _out));
    }

    /// <inheritdoc/>
    public LinearAdapters Adapters { get; }

    /// <summary>Attention over <paramref name="x"/> [B, T, D]; with a cache entry, the new keys/values are appended
    /// to it and attention runs over the whole cache.</summary>
    /// <param name="x">Normed hidden states.</param>
    /// <param name="cos">RoPE cos [B, 1, T, hd].</param>
    /// <param name="sin">RoPE sin [B, 1, T, hd].</param>
    /// <param name="bias">The mask of this call.</param>
    /// <param name="cache">This block's cache entry, or null.</param>
    /// <returns>[B, T, D].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache.Entry? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = Adapters.Apply("q_proj", x, training).view(b, t, _heads, _headDim).transpose(1, 2);
        var k = Adapters.Apply("k_proj", x, training).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        var v = Adapters.Apply("v_proj", x, training).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(k, v);
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }
        var y = Autocast.Attention(q, k, v, bias.Mask, training ? _dropout : 0.0, bias.IsCausal);
        y = Adapters.Apply("out_proj", y.transpose(1, 2).contiguous().view(b, t, _dim), training);
        if (_dropout > 0) y = nn.functional.dropout(y, _dropout, training);
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>SwiGLU: <c>down_proj(silu(gate_proj(x)) · up_proj(x))</c>, bias-free.</summary>
public sealed class LanguageModelMlp : nn.Module<Tensor, Tensor>, IAdaptableModule
{
    private readonly Linear _gate, _up, _down;

    /// <summary>Creates the MLP.</summary>
    /// <param name="cfg">The model configuration.</param>
    public LanguageModelMlp(VlmConfig cfg) : base("LanguageModelMLP")
    {
        _gate = Init.Linear(cfg.LmHiddenDim, cfg.LmInterDim, bias: false);
        _up = Init.Linear(cfg.LmHiddenDim, cfg.LmInterDim, bias: false);
        _down = Init.Linear(cfg.LmInterDim, cfg.LmHiddenDim, bias: false);
        register_module("gate_proj", _gate);
        register_module("up_proj", _up);
        register_module("down_proj", _down);
        Adapters = new LinearAdapters(("gate_proj", _gate), ("up_proj", _up), ("down_proj", _down));
    }

    /// <inheritdoc/>
    public LinearAdapters Adapters { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Adapters.Apply("down_proj", nn.functional.silu(Adapters.Apply("gate_proj", x, training)) * Adapters.Apply("up_proj", x, training), training)
            .MoveToOuterDisposeScope();
    }
}

/// <summary>Decoder block, registered in nanoVLM's order (<c>mlp</c>, <c>attn</c>, <c>norm1</c>, <c>norm2</c>):
/// <c>x + attn(norm1(x))</c>, then <c>x + mlp(norm2(x))</c>.</summary>
public sealed class LanguageModelBlock : nn.Module
{
    private readonly LanguageModelMlp _mlp;
    private readonly LanguageModelAttention _attn;
    private readonly RmsNorm _norm1, _norm2;

    /// <summary>Creates a block.</summary>
    /// <param name="cfg">The model configuration.</param>
    public LanguageModelBlock(VlmConfig cfg) : base("LanguageModelBlock")
    {
        _mlp = new LanguageModelMlp(cfg);
        _attn = new LanguageModelAttention(cfg);
        _norm1 = new RmsNorm(cfg.LmHiddenDim, cfg.LmRmsEps);
        _norm2 = new RmsNorm(cfg.LmHiddenDim, cfg.LmRmsEps);
        register_module("mlp", _mlp);
        register_module("attn", _attn);
        register_module("norm1", _norm1);
        register_module("norm2", _norm2);
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">[B, T, D].</param>
    /// <param name="cos">RoPE cos [B, 1, T, hd].</param>
    /// <param name="sin">RoPE sin [B, 1, T, hd].</param>
    /// <param name="bias">The mask of this call.</param>
    /// <param name="cache">This block's cache entry, or null.</param>
    /// <returns>[B, T, D].</returns>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache.Entry? cache)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(_attn.Forward(_norm1.forward(x), cos, sin, bias, cache));
        x = x.Plus(_mlp.forward(_norm2.forward(x)));
        return x.MoveToOuterDisposeScope();
    }
}
