using System.Text.Json;

namespace NanoVlm.Engine;

/// <summary>
/// nanoVLM's <c>VLMConfig</c> (models/config.py): every field under its Python name, with nanoVLM's defaults (the
/// 460M SigLIP2-B/16-512 + SmolLM2-360M model). This is the <c>config.json</c> of a checkpoint: <see cref="Read"/>
/// accepts files written by nanoVLM (missing keys take defaults; keys nanoVLM no longer has are ignored and listed in
/// <see cref="IgnoredKeys"/>), <see cref="ToJson"/> writes exactly the 37 keys in nanoVLM's order and number format, so
/// nanoVLM's <c>VLMConfig(**json)</c> (which rejects unknown keys) loads it.
/// </summary>
public sealed partial class VlmConfig
{
    /// <summary>ViT width D_v.</summary>
    public int VitHiddenDim { get; set; } = 768;
    /// <summary>ViT MLP hidden size. (nanoVLM's default is 4·768, computed once at class definition.)</summary>
    public int VitInterDim { get; set; } = 3072;
    /// <summary>Patch side (conv kernel = stride).</summary>
    public int VitPatchSize { get; set; } = 16;
    /// <summary>Tile side; the ViT takes exactly this square size.</summary>
    public int VitImgSize { get; set; } = 512;
    /// <summary>ViT attention heads.</summary>
    public int VitNHeads { get; set; } = 12;
    /// <summary>ViT dropout (attention, residual, MLP, embedding).</summary>
    public double VitDropout { get; set; }
    /// <summary>ViT blocks.</summary>
    public int VitNBlocks { get; set; } = 12;
    /// <summary>Epsilon of every ViT LayerNorm.</summary>
    public double VitLnEps { get; set; } = 1e-6;
    /// <summary>Class-token ViT (unusable with the projector's pixel shuffle; rejected by <see cref="Validate"/>).</summary>
    public bool VitClsFlag { get; set; }
    /// <summary>HF repository of the vision backbone (informational here).</summary>
    public string VitModelType { get; set; } = "google/siglip2-base-patch16-512";
    /// <summary>LM width D.</summary>
    public int LmHiddenDim { get; set; } = 960;
    /// <summary>SwiGLU hidden size.</summary>
    public int LmInterDim { get; set; } = 2560;
    /// <summary>RMSNorm epsilon.</summary>
    public double LmRmsEps { get; set; } = 1e-5;
    /// <summary>RoPE base θ (an int in nanoVLM's defaults, a float after loading some HF configs).</summary>
    public double LmReBase { get; set; } = 100000;
    /// <summary>RoPE dynamic-scaling threshold.</summary>
    public int LmMaxPositionEmbeddings { get; set; } = 8192;
    /// <summary>Informational: the tokenizer's base vocabulary.</summary>
    public int LmBaseVocabSize { get; set; } = 49152;
    /// <summary>Informational: nanoVLM's extra tokens (1 image + 1 global + 64 row/col).</summary>
    public int ExtraTokenAmount { get; set; } = 66;
    /// <summary>Embedding and head rows.</summary>
    public int LmVocabSize { get; set; } = 49218;
    /// <summary>LM query heads.</summary>
    public int LmNHeads { get; set; } = 15;
    /// <summary>LM key/value heads (grouped-query attention).</summary>
    public int LmNKvHeads { get; set; } = 5;
    /// <summary>LM dropout.</summary>
    public double LmDropout { get; set; }
    /// <summary>LM blocks.</summary>
    public int LmNBlocks { get; set; } = 32;
    /// <summary>Multiplies RoPE's cos and sin.</summary>
    public double LmAttnScaling { get; set; } = 1.0;
    /// <summary>Packed sequence length (the collator's pad length).</summary>
    public int LmMaxLength { get; set; } = 4096;
    /// <summary>Whether the LM embeds ids itself (the VLM passes embeddings: false).</summary>
    public bool LmUseTokens { get; set; }
    /// <summary>Head weight ≡ token-embedding weight.</summary>
    public bool LmTieWeights { get; set; } = true;
    /// <summary>HF repository of the language backbone.</summary>
    public string LmModelType { get; set; } = "HuggingFaceTB/SmolLM2-360M-Instruct";
    /// <summary>HF repository of the tokenizer (its tokenizer.json is what generation needs).</summary>
    public string LmTokenizer { get; set; } = "HuggingFaceTB/SmolLM2-360M-Instruct";
    /// <summary>The Jinja chat template nanoVLM gives the tokenizer.</summary>
    public string LmChatTemplate { get; set; } =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
    /// <summary>Pixel-shuffle factor s of the modality projector.</summary>
    public int MpPixelShuffleFactor { get; set; } = 4;
    /// <summary>Image tokens per tile = (img/patch)² / s².</summary>
    public int MpImageTokenLength { get; set; } = 64;
    /// <summary>Longest image side after DynamicResize.</summary>
    public int MaxImgSize { get; set; } = 2048;
    /// <summary>DynamicResize scales the longer side to <see cref="MaxImgSize"/>.</summary>
    public bool ResizeToMaxSideLen { get; set; } = true;
    /// <summary>nanoVLM's 66 extra tokens (name → token text), in nanoVLM's order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> VlmExtraTokens { get; set; } = DefaultExtraTokens();
    /// <summary>train.py loads SigLIP/SmolLM2 weights into a new model.</summary>
    public bool VlmLoadBackboneWeights { get; set; } = true;
    /// <summary>Checkpoint root (train.py) or the checkpoint to resume from.</summary>
    public string VlmCheckpointPath { get; set; } = "checkpoints";
    /// <summary>push_to_hub target.</summary>
    public string HfRepoName { get; set; } = "nanoVLM";

    /// <summary>Keys of the file that are not VLMConfig fields (e.g. <c>lm_eos_token_id</c> of older nanoVLM checkpoints);
    /// read and ignored, as they have no meaning here, and never written back.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; private set; } = [];

    // Whether lm_re_base was a JSON integer (nanoVLM's default) or a float (copied from an HF rope_theta): kept so a
    // config written back is byte-identical to the one read.
    private bool _reBaseIsFloat;

    /// <summary>ViT head width.</summary>
    public int VitHeadDim => VitHiddenDim / VitNHeads;
    /// <summary>Patches per tile.</summary>
    public int VitPatches => (VitImgSize / VitPatchSize) * (VitImgSize / VitPatchSize);
    /// <summary>LM head width.</summary>
    public int LmHeadDim => LmHiddenDim / LmNHeads;

    /// <summary>The default 66 extra tokens: <c>&lt;|image|&gt;</c>, <c>&lt;|global_image|&gt;</c>, then
    /// <c>&lt;row_r_col_c&gt;</c> for r, c in 1..8, row-major.</summary>
    /// <returns>A new list.</returns>
    public static List<KeyValuePair<string, string>> DefaultExtraTokens()
    {
        var list = new List<KeyValuePair<string, string>>(66)
        {
            new("image_token", "<|image|>"),
            new("global_image_token", "<|global_image|>"),
        };
        for (int r = 1; r <= 8; r++)
            for (int c = 1; c <= 8; c++)
                list.Add(new($"r{r}c{c}", $"<row_{r}_col_{c}>"));
        return list;
    }

    /// <summary>Reads a <c>config.json</c> (nanoVLM's or ours).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The configuration, validated.</returns>
    /// <exception cref="InvalidDataException">The file is not a JSON object, a value has the wrong type, or the
    /// configuration is inconsistent (<see cref="Validate"/>); the message names the file and key.</exception>
    public static VlmConfig Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the model configuration: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses <c>config.json</c> bytes.</summary>
    /// <param name="utf8Json">The JSON.</param>
    /// <param name="source">Named in errors (a path).</param>
    /// <returns>The configuration, validated.</returns>
    /// <exception cref="InvalidDataException">See <see cref="Read"/>.</exception>
    public static VlmConfig Parse(ReadOnlySpan<byte> utf8Json, string source = "config.json")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(utf8Json.ToArray()); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source}: expected a JSON object, found {doc.RootElement.ValueKind}.");
            var cfg = new VlmConfig();
            var ignored = new List<string>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                try
                {
                    if (!cfg.TrySet(p.Name, p.Value))
                        ignored.Add(p.Name);
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
                {
                    throw new InvalidDataException($"{source}: key '{p.Name}': {e.Message}", e);
                }
            }
            cfg.IgnoredKeys = ignored;
            var problems = cfg.Problems();
            if (problems.Count > 0)
                throw new InvalidDataException($"{source}: inconsistent model configuration: {string.Join("; ", problems)}");
            return cfg;
        }
    }

    /// <summary>Throws when the configuration cannot describe a working nanoVLM model.</summary>
    /// <exception cref="InvalidOperationException">One message listing every problem.</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new InvalidOperationException($"Inconsistent model configuration: {string.Join("; ", problems)}");
    }

    /// <summary>Every inconsistency, one sentence each (empty when the configuration is usable).</summary>
    /// <returns>The problems.</returns>
    public List<string> Problems()
    {
        var p = new List<string>();
        void Positive(string name, int v) { if (v <= 0) p.Add($"{name} must be positive (is {v})"); }
        Positive("vit_hidden_dim", VitHiddenDim); Positive("vit_inter_dim", VitInterDim); Positive("vit_patch_size", VitPatchSize);
        Positive("vit_img_size", VitImgSize); Positive("vit_n_heads", VitNHeads); Positive("vit_n_blocks", VitNBlocks);
        Positive("lm_hidden_dim", LmHiddenDim); Positive("lm_inter_dim", LmInterDim); Positive("lm_n_heads", LmNHeads);
        Positive("lm_n_kv_heads", LmNKvHeads); Positive("lm_n_blocks", LmNBlocks); Positive("lm_vocab_size", LmVocabSize);
        Positive("mp_pixel_shuffle_factor", MpPixelShuffleFactor); Positive("lm_max_position_embeddings", LmMaxPositionEmbeddings);
        if (p.Count > 0) return p;
        if (VitHiddenDim % VitNHeads != 0)
            p.Add($"vit_n_heads ({VitNHeads}) does not divide vit_hidden_dim ({VitHiddenDim})");
        if (LmHiddenDim % LmNHeads != 0)
            p.Add($"lm_n_heads ({LmNHeads}) does not divide lm_hidden_dim ({LmHiddenDim})");
        else if (LmHeadDim % 2 != 0)
            p.Add($"the LM head width lm_hidden_dim / lm_n_heads = {LmHeadDim} must be even for RoPE");
        if (LmNHeads % LmNKvHeads != 0)
            p.Add($"lm_n_kv_heads ({LmNKvHeads}) does not divide lm_n_heads ({LmNHeads})");
        if (VitImgSize % VitPatchSize != 0)
            p.Add($"vit_patch_size ({VitPatchSize}) does not divide vit_img_size ({VitImgSize})");
        else
        {
            int side = VitImgSize / VitPatchSize;
            if (side % MpPixelShuffleFactor != 0)
                p.Add($"mp_pixel_shuffle_factor ({MpPixelShuffleFactor}) does not divide the patch grid side ({side} = vit_img_size / vit_patch_size)");
            else if (MpImageTokenLength != VitPatches / (MpPixelShuffleFactor * MpPixelShuffleFactor))
                p.Add($"mp_image_token_length is {MpImageTokenLength} but the projector makes {VitPatches / (MpPixelShuffleFactor * MpPixelShuffleFactor)} tokens per tile ((vit_img_size / vit_patch_size)² / mp_pixel_shuffle_factor²)");
        }
        if (VitClsFlag)
            p.Add("vit_cls_flag = true is not supported (the class-token ViT returns one vector per tile, which the projector's pixel shuffle cannot take; nanoVLM cannot run it either)");
        if (LmUseTokens)
            p.Add("lm_use_tokens = true describes a text-only LM; the VLM feeds embeddings (false)");
        if (VlmExtraTokens.All(kv => kv.Key != "image_token"))
            p.Add("vlm_extra_tokens has no 'image_token'");
        return p;
    }
}
