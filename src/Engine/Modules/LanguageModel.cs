using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// nanoVLM's decoder (models/language_model.py LanguageModel, Llama/SmolLM2-shaped): token embedding, RoPE, RMSNorm
/// blocks with grouped-query attention and SwiGLU, final norm, and the head (tied to the embedding by default: one
/// <see cref="Parameter"/> object under both names). As in the VLM, <see cref="Forward"/> takes embeddings and returns
/// hidden states after the final norm; <see cref="Head"/> makes logits.
/// </summary>
public sealed class LanguageModel : nn.Module
{
    private readonly Embedding _tokenEmbedding;
    private readonly RotaryEmbedding _rotary;
    private readonly ModuleList<LanguageModelBlock> _blocks;
    private readonly RmsNorm _norm;
    private readonly Linear _head;

    /// <summary>Creates the decoder with nanoVLM's initialisation (embedding/linears N(0, 0.02), norms 1).</summary>
    /// <param name="cfg">The model configuration.</param>
    public LanguageModel(VlmConfig cfg) : base("LanguageModel")
    {
        _tokenEmbedding = nn.Embedding(cfg.LmVocabSize, cfg.LmHiddenDim);
        using (torch.no_grad()) nn.init.normal_(_tokenEmbedding.weight!, 0, 0.02);
        _rotary = new RotaryEmbedding(cfg);
        _blocks = nn.ModuleList(Enumerable.Range(0, cfg.LmNBlocks).Select(_ => new LanguageModelBlock(cfg)).ToArray());
        _norm = new RmsNorm(cfg.LmHiddenDim, cfg.LmRmsEps);
        _head = cfg.LmTieWeights
            ? nn.Linear(_tokenEmbedding.weight!)
            : Init.Linear(cfg.LmHiddenDim, cfg.LmVocabSize, bias: false);
        register_module("token_embedding", _tokenEmbedding);
        register_module("rotary_embd", _rotary);
        register_module("blocks", _blocks);
        register_module("norm", _norm);
        register_module("head", _head);
        BlockCount = cfg.LmNBlocks;
    }

    /// <summary>Decoder blocks.</summary>
    public int BlockCount { get; }

    /// <summary>The token embedding (its weight is the head's when tied).</summary>
    public Embedding TokenEmbedding => _tokenEmbedding;

    /// <summary>The RoPE tables.</summary>
    public RotaryEmbedding Rotary => _rotary;

    /// <summary>Hidden states [B, T, D] → logits [B, T, V] (or [B, V] from [B, D]).</summary>
    /// <param name="hidden">Hidden states after the final norm.</param>
    /// <returns>Logits.</returns>
    public Tensor Head(Tensor hidden) => Autocast.Linear(_head, hidden);

    /// <summary>Runs the blocks and the final norm over embeddings <paramref name="x"/> [B, T, D].</summary>
    /// <param name="x">Input embeddings.</param>
    /// <param name="positionIds">[B, T] or [1, T] int64 RoPE positions.</param>
    /// <param name="bias">The attention mask of this call (shared by the blocks).</param>
    /// <param name="cache">The KV cache to append to, or null (training / full forward).</param>
    /// <param name="maxPosition">The largest position if known on the host (skips a device read).</param>
    /// <returns>Hidden states [B, T, D].</returns>
    public Tensor Forward(Tensor x, Tensor positionIds, AttentionBias bias, KvCache? cache = null, long? maxPosition = null)
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = _rotary.Forward(positionIds, maxPosition);
        cos = cos.unsqueeze(1);
        sin = sin.unsqueeze(1);
        for (int i = 0; i < BlockCount; i++)
            x = _blocks[i].Forward(x, cos, sin, bias, cache?[i]);
        return _norm.forward(x).MoveToOuterDisposeScope();
    }
}
