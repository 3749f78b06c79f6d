using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>nanoVLM's RMSNorm: <c>x · rsqrt(mean(x²) + eps) · weight</c>, no bias, no float32 upcast inside
/// (libtorch 2.10's fused rms_norm upcasts, so it is written out).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Scalar _eps; // held: see Scalars

    /// <summary>Creates the norm with weight 1.</summary>
    /// <param name="dim">Feature size.</param>
    /// <param name="eps">Epsilon.</param>
    public RmsNorm(long dim, double eps) : base("RMSNorm")
    {
        _eps = eps.ToScalar();
        _weight = new Parameter(torch.ones(dim));
        register_parameter("weight", _weight);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var irms = torch.rsqrt(x.square().mean([-1], keepdim: true).add(_eps, Scalars.One));
        return (x * irms * _weight).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// RoPE tables, rotate-half convention (models/language_model.py RotaryEmbedding): <c>inv_freq</c> is a persistent
/// buffer (part of the checkpoint); positions beyond <c>lm_max_position_embeddings</c> scale the frequencies down by
/// <c>(max position + 1) / lm_max_position_embeddings</c>, computed per call as nanoVLM does.
/// </summary>
public sealed class RotaryEmbedding : nn.Module
{
    private readonly Tensor _invFreq;
    private readonly int _maxPositions;
    private readonly double _scaling;

    /// <summary>Creates the tables of <paramref name="cfg"/>.</summary>
    /// <param name="cfg">The model configuration.</param>
    public RotaryEmbedding(VlmConfig cfg) : base("RotaryEmbedding")
    {
        int dim = cfg.LmHeadDim;
        _maxPositions = cfg.LmMaxPositionEmbeddings;
        _scaling = cfg.LmAttnScaling;
        // 1 / base^(arange(0, dim, 2).float() / dim), computed in float32 like torch (base ** float32 tensor).
        using var exponents = torch.arange(0, dim, 2, dtype: ScalarType.Float32) / dim;
        using var powers = torch.pow(torch.tensor(cfg.LmReBase, dtype: ScalarType.Float32), exponents);
        _invFreq = 1.0f / powers;
        register_buffer("inv_freq", _invFreq);
    }

    /// <summary>The <c>inv_freq</c> buffer, float32 [head_dim / 2].</summary>
    public Tensor InvFreq => _invFreq;

    /// <summary>cos and sin for <paramref name="positionIds"/> [B, T] (int64), each float32 [B, T, head_dim].</summary>
    /// <param name="positionIds">Positions.</param>
    /// <param name="maxPosition">The largest position in <paramref name="positionIds"/> if the caller knows it (saves a
    /// device sync); otherwise it is read from the tensor.</param>
    /// <returns>(cos, sin).</returns>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds, long? maxPosition = null)
    {
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        long b = positionIds.shape[0], t = positionIds.shape[1];
        long maxSeq = (maxPosition ?? positionIds.max().item<long>()) + 1;
        var inv = _invFreq;
        if (maxSeq > _maxPositions)
        {
            using var factor = ((float)maxSeq / (float)_maxPositions).ToScalar();
            inv = _invFreq.div(factor);
        }
        var freqs = positionIds.reshape(-1).to(ScalarType.Float32).unsqueeze(-1) * inv.unsqueeze(0);
        freqs = freqs.reshape(b, t, -1);
        var emb = torch.cat([freqs, freqs], -1);
        var cos = emb.cos();
        var sin = emb.sin();
        if (_scaling != 1.0)
        {
            using var scaling = _scaling.ToScalar();
            cos = cos.mul(scaling);
            sin = sin.mul(scaling);
        }
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary><c>x·cos + rotate_half(x)·sin</c> with cos/sin [B, T, hd] broadcast over the heads of x [B, H, T, hd].</summary>
    /// <param name="x">Queries or keys.</param>
    /// <param name="cos">cos, unsqueezed to [B, 1, T, hd].</param>
    /// <param name="sin">sin, unsqueezed to [B, 1, T, hd].</param>
    /// <returns>The rotated tensor.</returns>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var halves = x.chunk(2, -1);
        var rotated = torch.cat([-halves[1], halves[0]], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }
}
