using NanoVlm.Engine.Internal;
using NanoVlm.Engine.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

/// <summary>
/// The nanoVLM model (models/vision_language_model.py) in TorchSharp: <c>vision_encoder</c> (ViT), <c>MP</c> (modality
/// projector) and <c>decoder</c> (language model), with nanoVLM's state-dict names, so a nanoVLM checkpoint loads into
/// it and its checkpoints load into nanoVLM (<see cref="Checkpoint"/>). Image features replace the embeddings at the
/// <c>&lt;|image|&gt;</c> positions, in processing order (sample-major, then image, then tile, then token).
/// </summary>
/// <remarks>
/// Dropout follows <see cref="nn.Module.training"/>; nanoVLM's configurations have none, so training and evaluation
/// forwards agree. Computation is in the parameters' dtype (float32 by default, like nanoVLM's evaluation and
/// generation); inside a <see cref="Autocast"/> region it is nanoVLM's bf16 mixed precision (what the trainer runs in
/// bf16 mode).
/// </remarks>
public sealed partial class VisionLanguageModel : nn.Module
{
    private readonly VisionTransformer _vision;
    private readonly LanguageModel _decoder;
    private readonly ModalityProjector _projector;

    /// <summary>A new model with nanoVLM's random initialisation (no backbone weights).</summary>
    /// <param name="config">The configuration; validated.</param>
    /// <param name="imageTokenId">The tokenizer's id of <c>&lt;|image|&gt;</c> (the positions image features fill).</param>
    /// <exception cref="InvalidOperationException">The configuration is inconsistent.</exception>
    public VisionLanguageModel(VlmConfig config, int imageTokenId) : base("VisionLanguageModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (imageTokenId < 0 || imageTokenId >= config.LmVocabSize)
            throw new ArgumentOutOfRangeException(nameof(imageTokenId), imageTokenId,
                $"The image token id must be a row of the embedding (0 ≤ id < lm_vocab_size = {config.LmVocabSize}).");
        Config = config.Clone();
        ImageTokenId = imageTokenId;
        _vision = new VisionTransformer(Config);
        _decoder = new LanguageModel(Config);
        _projector = new ModalityProjector(Config);
        register_module("vision_encoder", _vision);
        register_module("decoder", _decoder);
        register_module("MP", _projector);
    }

    /// <summary>The configuration the model was built from (a copy; do not change it).</summary>
    public VlmConfig Config { get; }

    /// <summary>Id of <c>&lt;|image|&gt;</c>.</summary>
    public int ImageTokenId { get; }

    /// <summary>The vision encoder.</summary>
    public VisionTransformer VisionEncoder => _vision;

    /// <summary>The language model.</summary>
    public LanguageModel Decoder => _decoder;

    /// <summary>The modality projector.</summary>
    public ModalityProjector Projector => _projector;

    /// <summary>The device of the parameters.</summary>
    public Device Device => _decoder.TokenEmbedding.weight!.device;

    /// <summary>Image features for <paramref name="tiles"/> [N, 3, S, S]: ViT then projector, [N, tokens/tile, D].</summary>
    /// <param name="tiles">Tiles in processing order, values in [0, 1].</param>
    /// <returns>The features.</returns>
    public Tensor EncodeImages(Tensor tiles)
    {
        using var scope = NewDisposeScope();
        return _projector.forward(_vision.forward(tiles)).MoveToOuterDisposeScope();
    }

    /// <summary>Token embeddings of <paramref name="inputIds"/> [B, T] with the image features of <paramref name="tiles"/>
    /// written into the <c>&lt;|image|&gt;</c> positions in row-major (b, t) order.</summary>
    /// <param name="inputIds">Token ids, int64 or int32.</param>
    /// <param name="tiles">Tiles [N, 3, S, S] or null for text only.</param>
    /// <returns>[B, T, D].</returns>
    /// <exception cref="ArgumentException">The number of image tokens is not N × tokens per tile.</exception>
    public Tensor Embed(Tensor inputIds, Tensor? tiles) => Embed(inputIds, tiles is null ? [] : [tiles]);

    /// <summary><see cref="Embed(Tensor, Tensor?)"/> with the tiles in several tensors (e.g. one per pack), encoded
    /// one tensor at a time and used in order.</summary>
    /// <param name="inputIds">Token ids, int64 or int32.</param>
    /// <param name="tiles">Tile tensors [n_i, 3, S, S].</param>
    /// <returns>[B, T, D].</returns>
    public Tensor Embed(Tensor inputIds, IReadOnlyList<Tensor> tiles)
    {
        using var scope = NewDisposeScope();
        var ids = inputIds.dtype == ScalarType.Int64 ? inputIds : inputIds.to(ScalarType.Int64);
        var embd = _decoder.TokenEmbedding.forward(ids);
        using var imageToken = ImageTokenId.ToScalar();
        var isImage = ids.eq(imageToken);
        long imageTokens = isImage.sum().item<long>();
        long tileCount = tiles.Sum(t => t.shape[0]);
        long expected = tileCount * Config.MpImageTokenLength;
        if (imageTokens != expected)
            throw new ArgumentException(
                $"The ids hold {imageTokens} image tokens (id {ImageTokenId}) but {tileCount} tiles give {expected} " +
                $"({Config.MpImageTokenLength} per tile, mp_image_token_length): ids and tiles do not belong together.");
        if (tileCount == 0) return embd.MoveToOuterDisposeScope();
        var parts = tiles.Where(t => t.shape[0] > 0).Select(t => EncodeImages(t).reshape(-1, Config.LmHiddenDim)).ToArray();
        var features = (parts.Length == 1 ? parts[0] : torch.cat(parts, 0)).to(embd.dtype);
        return embd.masked_scatter(isImage.unsqueeze(-1), features).MoveToOuterDisposeScope();
    }

    /// <summary>The forward over a batch of loader packs: hidden states [B, L, D] (see <see cref="AttentionMode"/>).</summary>
    /// <param name="batch">The packs.</param>
    /// <param name="mode">Document masking (default) or nanoVLM's whole-pack causal mask.</param>
    /// <returns>Hidden states; <see cref="Loss"/> with <see cref="PackBatch.Labels"/> gives the training loss.</returns>
    public Tensor Forward(PackBatch batch, AttentionMode mode = AttentionMode.Document)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var x = Embed(batch.InputIds, batch.Tiles);
        long t = x.shape[1];
        if (mode == AttentionMode.Nanovlm)
        {
            using var bias = AttentionBias.Nanovlm(batch.AttentionMask, t, t, Autocast.AttentionDtype(x.dtype));
            var positions = torch.arange(t, dtype: ScalarType.Int64, device: x.device).unsqueeze(0);
            return _decoder.Forward(x, positions, bias, maxPosition: t - 1).MoveToOuterDisposeScope();
        }
        using var documentBias = AttentionBias.Document(batch.SegmentIds, batch.AttentionMask, Autocast.AttentionDtype(x.dtype));
        return _decoder.Forward(x, batch.PositionIds, documentBias).MoveToOuterDisposeScope();
    }

    /// <summary>nanoVLM's <c>forward(input_ids, images, attention_mask)</c> without targets: hidden states after the
    /// final norm [B, T, D], one causal mask over the whole row plus key padding, positions 0..T-1.</summary>
    /// <param name="inputIds">[B, T].</param>
    /// <param name="tiles">[N, 3, S, S] or null.</param>
    /// <param name="attentionMask">[B, T] (1 = token, 0 = padding) or null.</param>
    /// <returns>Hidden states.</returns>
    public Tensor Forward(Tensor inputIds, Tensor? tiles, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        var x = Embed(inputIds, tiles);
        long t = x.shape[1];
        using var bias = AttentionBias.Nanovlm(attentionMask, t, t, Autocast.AttentionDtype(x.dtype));
        var positions = torch.arange(t, dtype: ScalarType.Int64, device: x.device).unsqueeze(0);
        return _decoder.Forward(x, positions, bias, maxPosition: t - 1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits of hidden states ([..., D] → [..., V]).</summary>
    /// <param name="hidden">Hidden states.</param>
    /// <returns>Logits.</returns>
    public Tensor Logits(Tensor hidden) => _decoder.Head(hidden);

    /// <summary>nanoVLM's loss: mean cross-entropy over the labels that are not −100 (labels are already shifted by the
    /// data). Logits are computed only at those positions (same mean, far less memory than [B, T, V]). A batch without
    /// any label gives 0 with a zero gradient, not libtorch's NaN of an empty mean.</summary>
    /// <param name="hidden">[B, T, D].</param>
    /// <param name="labels">[B, T], −100 = ignored.</param>
    /// <returns>A scalar.</returns>
    public Tensor Loss(Tensor hidden, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var flatLabels = labels.reshape(-1).to(ScalarType.Int64);
        var keep = flatLabels.ne(Scalars.IgnoreIndex).nonzero().squeeze(1);
        if (keep.shape[0] == 0)
            return hidden.sum().mul(Scalars.Zero).MoveToOuterDisposeScope();
        var h = hidden.reshape(-1, hidden.shape[^1]).index_select(0, keep);
        var logits = _decoder.Head(h);
        var target = flatLabels.index_select(0, keep);
        return nn.functional.cross_entropy(logits.to(ScalarType.Float32), target).MoveToOuterDisposeScope();
    }
}
