using System.Text;
using System.Text.Json;
using NanoVlm.Engine.Internal;

namespace NanoVlm.Engine;

public sealed partial class VlmConfig
{
    /// <summary>The 37 field names of nanoVLM's VLMConfig, in declaration order (the order of its config.json).</summary>
    public static IReadOnlyList<string> FieldNames { get; } =
    [
        "vit_hidden_dim", "vit_inter_dim", "vit_patch_size", "vit_img_size", "vit_n_heads", "vit_dropout", "vit_n_blocks",
        "vit_ln_eps", "vit_cls_flag", "vit_model_type", "lm_hidden_dim", "lm_inter_dim", "lm_rms_eps", "lm_re_base",
        "lm_max_position_embeddings", "lm_base_vocab_size", "extra_token_amount", "lm_vocab_size", "lm_n_heads",
        "lm_n_kv_heads", "lm_dropout", "lm_n_blocks", "lm_attn_scaling", "lm_max_length", "lm_use_tokens", "lm_tie_weights",
        "lm_model_type", "lm_tokenizer", "lm_chat_template", "mp_pixel_shuffle_factor", "mp_image_token_length",
        "max_img_size", "resize_to_max_side_len", "vlm_extra_tokens", "vlm_load_backbone_weights", "vlm_checkpoint_path",
        "hf_repo_name",
    ];

    /// <summary>Writes <c>config.json</c> as nanoVLM's <c>save_pretrained</c> does: <c>json.dumps(asdict(cfg), indent=4)</c>
    /// (Python number formatting, ASCII-only escapes, no trailing newline).</summary>
    /// <returns>The file's text.</returns>
    public string ToJson()
    {
        var w = new PythonJsonWriter();
        w.BeginObject();
        w.Int("vit_hidden_dim", VitHiddenDim); w.Int("vit_inter_dim", VitInterDim); w.Int("vit_patch_size", VitPatchSize);
        w.Int("vit_img_size", VitImgSize); w.Int("vit_n_heads", VitNHeads); w.Float("vit_dropout", VitDropout);
        w.Int("vit_n_blocks", VitNBlocks); w.Float("vit_ln_eps", VitLnEps); w.Bool("vit_cls_flag", VitClsFlag);
        w.String("vit_model_type", VitModelType); w.Int("lm_hidden_dim", LmHiddenDim); w.Int("lm_inter_dim", LmInterDim);
        w.Float("lm_rms_eps", LmRmsEps);
        if (_reBaseIsFloat || LmReBase != Math.Floor(LmReBase)) w.Float("lm_re_base", LmReBase);
        else w.Int("lm_re_base", (long)LmReBase);
        w.Int("lm_max_position_embeddings", LmMaxPositionEmbeddings); w.Int("lm_base_vocab_size", LmBaseVocabSize);
        w.Int("extra_token_amount", ExtraTokenAmount); w.Int("lm_vocab_size", LmVocabSize); w.Int("lm_n_heads", LmNHeads);
        w.Int("lm_n_kv_heads", LmNKvHeads); w.Float("lm_dropout", LmDropout); w.Int("lm_n_blocks", LmNBlocks);
        w.Float("lm_attn_scaling", LmAttnScaling); w.Int("lm_max_length", LmMaxLength); w.Bool("lm_use_tokens", LmUseTokens);
        w.Bool("lm_tie_weights", LmTieWeights); w.String("lm_model_type", LmModelType); w.String("lm_tokenizer", LmTokenizer);
        w.String("lm_chat_template", LmChatTemplate); w.Int("mp_pixel_shuffle_factor", MpPixelShuffleFactor);
        w.Int("mp_image_token_length", MpImageTokenLength); w.Int("max_img_size", MaxImgSize);
        w.Bool("resize_to_max_side_len", ResizeToMaxSideLen);
        w.BeginObject("vlm_extra_tokens");
        foreach (var kv in VlmExtraTokens) w.String(kv.Key, kv.Value);
        w.EndObject();
        w.Bool("vlm_load_backbone_weights", VlmLoadBackboneWeights); w.String("vlm_checkpoint_path", VlmCheckpointPath);
        w.String("hf_repo_name", HfRepoName);
        w.EndObject();
        return w.ToString();
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> (UTF-8, ASCII content).</summary>
    /// <param name="path">The file.</param>
    public void Write(string path) => File.WriteAllText(path, ToJson(), new UTF8Encoding(false));

    /// <summary>A copy (the extra-token list is copied too).</summary>
    /// <returns>The copy.</returns>
    public VlmConfig Clone()
    {
        var c = (VlmConfig)MemberwiseClone();
        c.VlmExtraTokens = [.. VlmExtraTokens];
        return c;
    }

    /// <summary>A copy with the VLMConfig fields that <paramref name="config"/> sets applied (its TrainConfig fields are
    /// the training loop's).</summary>
    /// <param name="config">A nanoVLM configuration file.</param>
    /// <returns>The new configuration, validated.</returns>
    /// <exception cref="InvalidDataException">A value of the wrong type or an inconsistent result, naming the file and key.</exception>
    public VlmConfig With(NanoVlm.Loader.Configuration.NanovlmConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = Clone();
        foreach (var key in FieldNames)
        {
            if (!config.TryGetValue(key, out var v)) continue;
            try { c.TrySet(key, v); }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                throw new InvalidDataException($"{config.Source}: key '{key}': {e.Message}", e);
            }
        }
        var problems = c.Problems();
        if (problems.Count > 0)
            throw new InvalidDataException($"{config.Source}: inconsistent model configuration: {string.Join("; ", problems)}");
        return c;
    }

    private bool TrySet(string key, JsonElement v)
    {
        switch (key)
        {
            case "vit_hidden_dim": VitHiddenDim = Int(v); break;
            case "vit_inter_dim": VitInterDim = Int(v); break;
            case "vit_patch_size": VitPatchSize = Int(v); break;
            case "vit_img_size": VitImgSize = Int(v); break;
            case "vit_n_heads": VitNHeads = Int(v); break;
            case "vit_dropout": VitDropout = Num(v); break;
            case "vit_n_blocks": VitNBlocks = Int(v); break;
            case "vit_ln_eps": VitLnEps = Num(v); break;
            case "vit_cls_flag": VitClsFlag = v.GetBoolean(); break;
            case "vit_model_type": VitModelType = Str(v); break;
            case "lm_hidden_dim": LmHiddenDim = Int(v); break;
            case "lm_inter_dim": LmInterDim = Int(v); break;
            case "lm_rms_eps": LmRmsEps = Num(v); break;
            case "lm_re_base":
                LmReBase = Num(v);
                _reBaseIsFloat = v.GetRawText().AsSpan().IndexOfAny(".eE") >= 0;
                break;
            case "lm_max_position_embeddings": LmMaxPositionEmbeddings = Int(v); break;
            case "lm_base_vocab_size": LmBaseVocabSize = Int(v); break;
            case "extra_token_amount": ExtraTokenAmount = Int(v); break;
            case "lm_vocab_size": LmVocabSize = Int(v); break;
            case "lm_n_heads": LmNHeads = Int(v); break;
            case "lm_n_kv_heads": LmNKvHeads = Int(v); break;
            case "lm_dropout": LmDropout = Num(v); break;
            case "lm_n_blocks": LmNBlocks = Int(v); break;
            case "lm_attn_scaling": LmAttnScaling = Num(v); break;
            case "lm_max_length": LmMaxLength = Int(v); break;
            case "lm_use_tokens": LmUseTokens = v.GetBoolean(); break;
            case "lm_tie_weights": LmTieWeights = v.GetBoolean(); break;
            case "lm_model_type": LmModelType = Str(v); break;
            case "lm_tokenizer": LmTokenizer = Str(v); break;
            case "lm_chat_template": LmChatTemplate = Str(v); break;
            case "mp_pixel_shuffle_factor": MpPixelShuffleFactor = Int(v); break;
            case "mp_image_token_length": MpImageTokenLength = Int(v); break;
            case "max_img_size": MaxImgSize = Int(v); break;
            case "resize_to_max_side_len": ResizeToMaxSideLen = v.GetBoolean(); break;
            case "vlm_extra_tokens":
                if (v.ValueKind != JsonValueKind.Object)
                    throw new InvalidOperationException($"expected an object of token names, found {v.ValueKind}");
                VlmExtraTokens = [.. v.EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, Str(p.Value)))];
                break;
            case "vlm_load_backbone_weights": VlmLoadBackboneWeights = v.GetBoolean(); break;
            case "vlm_checkpoint_path": VlmCheckpointPath = Str(v); break;
            case "hf_repo_name": HfRepoName = Str(v); break;
            default: return false;
        }
        return true;
    }

    // nanoVLM parses every number as a Python number; an integer field given as 64.0 works there, so accept it here.
    private static int Int(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Number)
            throw new InvalidOperationException($"expected a number, found {v.ValueKind}");
        double d = v.GetDouble();
        if (d != Math.Floor(d) || d < int.MinValue || d > int.MaxValue)
            throw new InvalidOperationException($"expected an integer, found {v.GetRawText()}");
        return (int)d;
    }

    private static double Num(JsonElement v) => v.ValueKind == JsonValueKind.Number
        ? v.GetDouble()
        : throw new InvalidOperationException($"expected a number, found {v.ValueKind}");

    private static string Str(JsonElement v) => v.ValueKind == JsonValueKind.String
        ? v.GetString()!
        : throw new InvalidOperationException($"expected a string, found {v.ValueKind}");
}
