using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Checkpoints;

/// <summary>
/// nanoVLM's backbone initialisation (<c>ViT.from_pretrained</c>, <c>LanguageModel.from_pretrained</c>): SigLIP and
/// SmolLM2/Llama weights in Hugging Face's naming, copied into the model with nanoVLM's key mapping — the SigLIP
/// q/k/v projections concatenated into <c>qkv_proj</c>, the position embedding unsqueezed to <c>[1, N, D]</c>, and an
/// embedding with fewer rows than <c>lm_vocab_size</c> extended with rows drawn from N(0, 0.02) for nanoVLM's extra
/// tokens. Keys the model needs but the file lacks are reported (nanoVLM warns and keeps the random initialisation);
/// a shape that does not fit is an error naming the key. The projector always keeps its random initialisation.
/// </summary>
public static class Backbones
{
    /// <summary>Loads a SigLIP vision tower (<c>vision_model.*</c> keys; text-tower keys are ignored).</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The SigLIP <c>model.safetensors</c>.</param>
    /// <returns>nanoVLM names of the vision parameters the file did not provide.</returns>
    /// <exception cref="InvalidDataException">A tensor's shape does not fit the configuration.</exception>
    public static IReadOnlyList<string> LoadVision(VisionLanguageModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var file = SafeTensorsFile.Open(path);
        var targets = Targets(model, "vision_encoder.");
        var missing = new List<string>();
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            using var source = VisionSource(file, name);
            if (source is null) { missing.Add(name); continue; }
            Copy(path, name, target, source.shape.Length == target.shape.Length - 1 && name.EndsWith("position_embedding", StringComparison.Ordinal)
                ? source.unsqueeze(0) : source);
        }
        return missing;
    }

    /// <summary>Loads a SmolLM2/Llama language model (<c>model.*</c> keys, <c>lm_head.weight</c>) from one
    /// safetensors file or from the shards a <c>model.safetensors.index.json</c> lists.</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">A <c>model.safetensors</c>, a <c>model.safetensors.index.json</c>, or the folder holding one.</param>
    /// <returns>nanoVLM names of the decoder parameters the files did not provide.</returns>
    /// <exception cref="InvalidDataException">A shape does not fit, or the file's vocabulary is larger than lm_vocab_size.</exception>
    public static IReadOnlyList<string> LoadLanguage(VisionLanguageModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var files = LanguageFiles(path).Select(SafeTensorsFile.Open).ToList();
        try
        {
            var targets = Targets(model, "decoder.");
            var missing = new List<string>();
            using var noGrad = no_grad();
            foreach (var (name, target) in targets)
            {
                if (name == "decoder.rotary_embd.inv_freq") continue; // computed from the config, as nanoVLM does
                // Tied: the head is the embedding (nanoVLM then lets a file's lm_head.weight overwrite both; tied SmolLM2
                // files have none).
                if (name == "decoder.head.weight" && model.Config.LmTieWeights) continue;
                string hf = LanguageKey(name);
                var file = files.FirstOrDefault(f => f.Tensors.ContainsKey(hf));
                if (file is null)
                {
                    if (name != "decoder.head.weight") missing.Add(name);
                    continue;
                }
                using var source = file.View(hf);
                if (hf is "model.embed_tokens.weight" or "lm_head.weight") CopyVocabulary(file.Path, hf, target, source);
                else Copy(file.Path, name, target, source);
            }
            return missing;
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    private static Dictionary<string, Tensor> Targets(VisionLanguageModel model, string prefix)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters()) if (name.StartsWith(prefix, StringComparison.Ordinal)) d[name] = p;
        foreach (var (name, b) in model.named_buffers()) if (name.StartsWith(prefix, StringComparison.Ordinal)) d[name] = b;
        return d;
    }

    // SigLIP's name(s) for a nanoVLM vision tensor; q/k/v are concatenated on dim 0 into qkv_proj.
    private static Tensor? VisionSource(SafeTensorsFile file, string name)
    {
        const string hf = "vision_model.";
        string n = name["vision_encoder.".Length..];
        string? key = n switch
        {
            "patch_embedding.conv.weight" => hf + "embeddings.patch_embedding.weight",
            "patch_embedding.conv.bias" => hf + "embeddings.patch_embedding.bias",
            "patch_embedding.position_embedding" => hf + "embeddings.position_embedding.weight",
            "layer_norm.weight" => hf + "post_layernorm.weight",
            "layer_norm.bias" => hf + "post_layernorm.bias",
            _ => null,
        };
        if (key is null && n.StartsWith("blocks.", StringComparison.Ordinal))
        {
            int dot = n.IndexOf('.', 7);
            string layer = $"{hf}encoder.layers.{n[7..dot]}.";
            string rest = n[(dot + 1)..];
            if (rest.StartsWith("attn.qkv_proj.", StringComparison.Ordinal))
            {
                string kind = rest["attn.qkv_proj.".Length..];
                string[] parts = [$"{layer}self_attn.q_proj.{kind}", $"{layer}self_attn.k_proj.{kind}", $"{layer}self_attn.v_proj.{kind}"];
                if (!parts.All(file.Tensors.ContainsKey)) return null;
                var views = parts.Select(file.View).ToArray();
                try { return cat(views, 0); }
                finally { foreach (var v in views) v.Dispose(); }
            }
            key = layer + rest.Replace("ln1.", "layer_norm1.").Replace("ln2.", "layer_norm2.").Replace("attn.out_proj.", "self_attn.out_proj.");
        }
        return key is not null && file.Tensors.ContainsKey(key) ? file.View(key) : null;
    }

    private static string LanguageKey(string name)
    {
        string n = name["decoder.".Length..];
        if (n == "token_embedding.weight") return "model.embed_tokens.weight";
        if (n == "norm.weight") return "model.norm.weight";
        if (n == "head.weight") return "lm_head.weight";
        int dot = n.IndexOf('.', 7);
        string rest = n[(dot + 1)..];
        rest = rest.StartsWith("attn.out_proj.", StringComparison.Ordinal) ? "self_attn.o_proj." + rest["attn.out_proj.".Length..]
            : rest.StartsWith("attn.", StringComparison.Ordinal) ? "self_attn." + rest["attn.".Length..]
            : rest.StartsWith("norm1.", StringComparison.Ordinal) ? "input_layernorm." + rest["norm1.".Length..]
            : rest.StartsWith("norm2.", StringComparison.Ordinal) ? "post_attention_layernorm." + rest["norm2.".Length..]
            : rest;
        return $"model.layers.{n[7..dot]}.{rest}";
    }

    private static IEnumerable<string> LanguageFiles(string path)
    {
        string dir = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        string index = Directory.Exists(path) ? Path.Combine(path, "model.safetensors.index.json") : path;
        if (index.EndsWith(".index.json", StringComparison.Ordinal) && File.Exists(index))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(index));
            return doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!)
                .Distinct().Select(f => Path.Combine(dir, f)).ToList();
        }
        return [Directory.Exists(path) ? Path.Combine(path, "model.safetensors") : path];
    }

    private static void Copy(string path, string name, Tensor target, Tensor source)
    {
        if (!target.shape.SequenceEqual(source.shape))
            throw new InvalidDataException(
                $"{path}: the tensor for '{name}' has shape [{string.Join(", ", source.shape)}] but the model's is [{string.Join(", ", target.shape)}]: the configuration does not describe this backbone.");
        target.copy_(source);
    }

    // nanoVLM: copy the file's rows; rows beyond them (the 66 extra tokens) are drawn from N(0, 0.02).
    private static void CopyVocabulary(string path, string key, Tensor target, Tensor source)
    {
        long rows = source.shape[0], vocab = target.shape[0];
        if (rows > vocab)
            throw new InvalidDataException($"{path}: '{key}' has {rows} rows but lm_vocab_size is {vocab}: the vocabulary must be at least the backbone's.");
        if (source.shape[1] != target.shape[1])
            throw new InvalidDataException($"{path}: '{key}' has width {source.shape[1]} but lm_hidden_dim is {target.shape[1]}.");
        target.narrow(0, 0, rows).copy_(source);
        if (rows < vocab) nn.init.normal_(target.narrow(0, rows, vocab - rows), 0, 0.02);
    }
}
