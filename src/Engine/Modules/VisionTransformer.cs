using NanoVlm.Engine.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// nanoVLM's ViT (models/vision_transformer.py), SigLIP-shaped: conv patch embedding plus a learned position embedding,
/// pre-LN blocks with a fused qkv projection and a GELU-tanh MLP, and a final LayerNorm over every token (no pooling,
/// no class token). Input <c>[N, 3, S, S]</c> tiles in [0, 1] (nanoVLM normalises nothing), output <c>[N, patches, D_v]</c>.
/// Parameter names are nanoVLM's (<c>patch_embedding.conv.weight</c>, <c>blocks.0.attn.qkv_proj.weight</c>, …).
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    private readonly PatchEmbedding _patchEmbedding;
    private readonly ModuleList<VitBlock> _blocks;
    private readonly LayerNorm _layerNorm;
    private readonly double _dropout;

    /// <summary>Creates the ViT of <paramref name="cfg"/> with nanoVLM's initialisation.</summary>
    /// <param name="cfg">The model configuration.</param>
    public VisionTransformer(VlmConfig cfg) : base("ViT")
    {
        _dropout = cfg.VitDropout;
        _patchEmbedding = new PatchEmbedding(cfg);
        _blocks = nn.ModuleList(Enumerable.Range(0, cfg.VitNBlocks).Select(_ => new VitBlock(cfg)).ToArray());
        _layerNorm = nn.LayerNorm(cfg.VitHiddenDim, cfg.VitLnEps);
        register_module("patch_embedding", _patchEmbedding);
        register_module("blocks", _blocks);
        register_module("layer_norm", _layerNorm);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = _patchEmbedding.forward(images);
        if (_dropout > 0) x = nn.functional.dropout(x, _dropout, training);
        foreach (var block in _blocks) x = block.forward(x);
        return _layerNorm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>Conv patch embedding (kernel = stride = patch, "valid") + the learned <c>[1, patches, D_v]</c> position
/// embedding, a plain parameter as in nanoVLM (not an nn.Embedding), added without interpolation.</summary>
public sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d _conv;
    private readonly Parameter _positionEmbedding;
    private readonly int _imgSize;
    private readonly int _patchSize;

    /// <summary>Creates the embedding; the position embedding starts as U[0, 1) as in nanoVLM.</summary>
    /// <param name="cfg">The model configuration.</param>
    public PatchEmbedding(VlmConfig cfg) : base("ViTPatchEmbeddings")
    {
        _imgSize = cfg.VitImgSize;
        _patchSize = cfg.VitPatchSize;
        _conv = nn.Conv2d(3, cfg.VitHiddenDim, kernel_size: cfg.VitPatchSize, stride: cfg.VitPatchSize);
        _positionEmbedding = new Parameter(torch.rand(1, cfg.VitPatches, cfg.VitHiddenDim));
        using (torch.no_grad())
        {
            nn.init.normal_(_conv.weight!, 0, 0.02);
            nn.init.zeros_(_conv.bias!);
        }
        register_module("conv", _conv);
        register_parameter("position_embedding", _positionEmbedding);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != _imgSize || images.shape[3] != _imgSize)
            throw new ArgumentException(
                $"The vision encoder takes tiles [N, 3, {_imgSize}, {_imgSize}] (vit_img_size); got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        var x = Autocast.Conv2d(_conv, images, _patchSize).flatten(2).transpose(1, 2); // [N, patches, D], patch index = row·(S/P) + col
        return x.Plus(_positionEmbedding).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-LN ViT block: <c>x + attn(ln1(x))</c>, then <c>x + mlp(ln2(x))</c>.</summary>
public sealed class VitBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm _ln1, _ln2;
    private readonly VitAttention _attn;
    private readonly VitMlp _mlp;

    /// <summary>Creates a block.</summary>
    /// <param name="cfg">The model configuration.</param>
    public VitBlock(VlmConfig cfg) : base("ViTBlock")
    {
        _ln1 = nn.LayerNorm(cfg.VitHiddenDim, cfg.VitLnEps);
        _attn = new VitAttention(cfg);
        _ln2 = nn.LayerNorm(cfg.VitHiddenDim, cfg.VitLnEps);
        _mlp = new VitMlp(cfg);
        register_module("ln1", _ln1);
        register_module("attn", _attn);
        register_module("ln2", _ln2);
        register_module("mlp", _mlp);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(_attn.forward(_ln1.forward(x)));
        x = x.Plus(_mlp.forward(_ln2.forward(x)));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Bidirectional multi-head attention with the fused <c>qkv_proj</c> (rows Q, K, V) and <c>out_proj</c>.</summary>
public sealed class VitAttention : nn.Module<Tensor, Tensor>, IAdaptableModule
{
    private readonly Linear _qkv, _out;
    private readonly int _heads, _headDim, _dim;
    private readonly double _dropout;

    /// <summary>Creates the attention.</summary>
    /// <param name="cfg">The model configuration.</param>
    public VitAttention(VlmConfig cfg) : base("ViTMultiHeadAttention")
    {
        _dim = cfg.VitHiddenDim;
        _heads = cfg.VitNHeads;
        _headDim = cfg.VitHeadDim;
        _dropout = cfg.VitDropout;
        _qkv = Init.Linear(_dim, 3 * _dim, bias: true);
        _out = Init.Linear(_dim, _dim, bias: true);
        register_module("qkv_proj", _qkv);
        register_module("out_proj", _out);
        Adapters = new LinearAdapters(("qkv_proj", _qkv), ("out_proj", _out));
    }

    /// <inheritdoc/>
    public LinearAdapters Adapters { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var qkv = Adapters.Apply("qkv_proj", x, training).split(_dim, 2);
        var q = qkv[0].view(b, t, _heads, _headDim).transpose(1, 2);
        var k = qkv[1].view(b, t, _heads, _headDim).transpose(1, 2);
        var v = qkv[2].view(b, t, _heads, _headDim).transpose(1, 2);
        var y = Autocast.Attention(q, k, v, null, training ? _dropout : 0.0, false);
        y = Adapters.Apply("out_proj", y.transpose(1, 2).contiguous().view(b, t, _dim), training);
        if (_dropout > 0) y = nn.functional.dropout(y, _dropout, training);
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary><c>fc2(gelu_tanh(fc1(x)))</c>.</summary>
public sealed class VitMlp : nn.Module<Tensor, Tensor>, IAdaptableModule
{
    private readonly Linear _fc1, _fc2;
    private readonly double _dropout;

    /// <summary>Creates the MLP.</summary>
    /// <param name="cfg">The model configuration.</param>
    public VitMlp(VlmConfig cfg) : base("ViTMLP")
    {
        _dropout = cfg.VitDropout;
        _fc1 = Init.Linear(cfg.VitHiddenDim, cfg.VitInterDim, bias: true);
        _fc2 = Init.Linear(cfg.VitInterDim, cfg.VitHiddenDim, bias: true);
        register_module("fc1", _fc1);
        register_module("fc2", _fc2);
        Adapters = new LinearAdapters(("fc1", _fc1), ("fc2", _fc2));
    }

    /// <inheritdoc/>
    public LinearAdapters Adapters { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = Adapters.Apply("fc2", nn.functional.gelu(Adapters.Apply("fc1", x, training), GELU.Approximate.tanh), training);
        if (_dropout > 0) y = nn.functional.dropout(y, _dropout, training);
        return y.MoveToOuterDisposeScope();
    }
}
