using NanoVlm.Engine.Checkpoints;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>nanoVLM's backbone initialisation from files in Hugging Face's SigLIP and SmolLM2 naming (written here
/// from a model's own tensors with the mapping reversed: q/k/v split, position embedding squeezed, HF names).</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class BackboneTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-backbones-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, Tensor> SiglipNamed(VisionLanguageModel m, int blocks)
    {
        var sd = m.state_dict();
        var d = new Dictionary<string, Tensor>
        {
            ["vision_model.embeddings.patch_embedding.weight"] = sd["vision_encoder.patch_embedding.conv.weight"],
            ["vision_model.embeddings.patch_embedding.bias"] = sd["vision_encoder.patch_embedding.conv.bias"],
            ["vision_model.embeddings.position_embedding.weight"] = sd["vision_encoder.patch_embedding.position_embedding"].squeeze(0),
            ["vision_model.post_layernorm.weight"] = sd["vision_encoder.layer_norm.weight"],
            ["vision_model.post_layernorm.bias"] = sd["vision_encoder.layer_norm.bias"],
            ["text_model.embeddings.token_embedding.weight"] = zeros(3, 4), // other towers are ignored
            ["logit_scale"] = zeros(1),
        };
        for (int i = 0; i < blocks; i++)
        {
            string n = $"vision_encoder.blocks.{i}.", h = $"vision_model.encoder.layers.{i}.";
            foreach (var kind in new[] { "weight", "bias" })
            {
                var qkv = sd[$"{n}attn.qkv_proj.{kind}"].chunk(3, 0);
                d[$"{h}self_attn.q_proj.{kind}"] = qkv[0];
                d[$"{h}self_attn.k_proj.{kind}"] = qkv[1];
                d[$"{h}self_attn.v_proj.{kind}"] = qkv[2];
                d[$"{h}self_attn.out_proj.{kind}"] = sd[$"{n}attn.out_proj.{kind}"];
                d[$"{h}layer_norm1.{kind}"] = sd[$"{n}ln1.{kind}"];
                d[$"{h}layer_norm2.{kind}"] = sd[$"{n}ln2.{kind}"];
                d[$"{h}mlp.fc1.{kind}"] = sd[$"{n}mlp.fc1.{kind}"];
                d[$"{h}mlp.fc2.{kind}"] = sd[$"{n}mlp.fc2.{kind}"];
            }
        }
        return d;
    }

    private static Dictionary<string, Tensor> SmolLmNamed(VisionLanguageModel m, int blocks, long vocabRows)
    {
        var sd = m.state_dict();
        var d = new Dictionary<string, Tensor>
        {
            ["model.embed_tokens.weight"] = sd["decoder.token_embedding.weight"].narrow(0, 0, vocabRows).to(ScalarType.BFloat16),
            ["model.norm.weight"] = sd["decoder.norm.weight"],
        };
        for (int i = 0; i < blocks; i++)
        {
            string n = $"decoder.blocks.{i}.", h = $"model.layers.{i}.";
            foreach (var p in new[] { "q_proj", "k_proj", "v_proj" }) d[$"{h}self_attn.{p}.weight"] = sd[$"{n}attn.{p}.weight"];
            d[$"{h}self_attn.o_proj.weight"] = sd[$"{n}attn.out_proj.weight"];
            foreach (var p in new[] { "gate_proj", "up_proj", "down_proj" }) d[$"{h}mlp.{p}.weight"] = sd[$"{n}mlp.{p}.weight"];
            d[$"{h}input_layernorm.weight"] = sd[$"{n}norm1.weight"];
            d[$"{h}post_attention_layernorm.weight"] = sd[$"{n}norm2.weight"];
        }
        return d;
    }

    private string Write(string name, Dictionary<string, Tensor> tensors)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var fs = File.Create(path);
        SafeTensorsWriter.Write(fs, tensors.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.contiguous())));
        return path;
    }

    [Fact]
    public void SigLIP_and_SmolLM2_files_load_with_nanovlms_mapping_and_vocabulary_extension()
    {
        using var c = new EngineCase("c_gqa4_s2");
        using var source = c.LoadModel();
        var cfg = source.Config;
        string siglip = Write("siglip/model.safetensors", SiglipNamed(source, cfg.VitNBlocks));
        long baseRows = cfg.LmVocabSize - 20;
        // SmolLM2 in two shards with an index, as big checkpoints come.
        var lm = SmolLmNamed(source, cfg.LmNBlocks, baseRows);
        var first = lm.Where(kv => kv.Key.StartsWith("model.layers.0.", StringComparison.Ordinal)).ToDictionary();
        var rest = lm.Where(kv => !first.ContainsKey(kv.Key)).ToDictionary();
        Write("lm/model-00001-of-00002.safetensors", first);
        Write("lm/model-00002-of-00002.safetensors", rest);
        File.WriteAllText(Path.Combine(_dir, "lm", "model.safetensors.index.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            metadata = new { total_size = 0 },
            weight_map = first.Keys.ToDictionary(k => k, _ => "model-00001-of-00002.safetensors")
                .Concat(rest.Keys.ToDictionary(k => k, _ => "model-00002-of-00002.safetensors")).ToDictionary(),
        }));

        manual_seed(5);
        using var target = new VisionLanguageModel(cfg, c.ImageTokenId);
        Assert.Empty(Backbones.LoadVision(target, siglip));
        Assert.Equal("", string.Join(",", Backbones.LoadLanguage(target, Path.Combine(_dir, "lm"))));

        var a = source.state_dict();
        var b = target.state_dict();
        foreach (var key in a.Keys.Where(k => k.StartsWith("vision_encoder.", StringComparison.Ordinal)))
            Assert.True(a[key].equal(b[key]).all().item<bool>(), key);
        foreach (var key in a.Keys.Where(k => k.StartsWith("decoder.blocks.", StringComparison.Ordinal) || k == "decoder.norm.weight"))
            Assert.True(a[key].equal(b[key]).all().item<bool>(), key);
        // Embedding: the file's rows (BF16 in the file), then N(0, 0.02) rows for the extra tokens; the head is tied.
        using var emb = b["decoder.token_embedding.weight"];
        using var expected = a["decoder.token_embedding.weight"].narrow(0, 0, baseRows).to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.True(emb.narrow(0, 0, baseRows).equal(expected).all().item<bool>());
        double std = emb.narrow(0, baseRows, 20).std().item<float>();
        Assert.InRange(std, 0.01, 0.03);
        Assert.True(b["decoder.head.weight"].equal(emb).all().item<bool>());
        // The projector keeps its random initialisation.
        Assert.False(a["MP.proj.weight"].equal(b["MP.proj.weight"]).all().item<bool>());
    }

    [Fact]
    public void Missing_keys_are_reported_and_a_wrong_shape_is_an_error_naming_the_key()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var source = c.LoadModel();
        var named = SiglipNamed(source, source.Config.VitNBlocks);
        named.Remove("vision_model.post_layernorm.bias");
        string path = Write("partial.safetensors", named);
        using var target = new VisionLanguageModel(source.Config, c.ImageTokenId);
        Assert.Equal(["vision_encoder.layer_norm.bias"], Backbones.LoadVision(target, path));

        named["vision_model.post_layernorm.bias"] = zeros(7);
        path = Write("wrong.safetensors", named);
        var e = Assert.Throws<InvalidDataException>(() => Backbones.LoadVision(target, path));
        Assert.Contains("vision_encoder.layer_norm.bias", e.Message);

        var lm = SmolLmNamed(source, source.Config.LmNBlocks, source.Config.LmVocabSize);
        lm["model.embed_tokens.weight"] = zeros(source.Config.LmVocabSize + 5, source.Config.LmHiddenDim);
        path = Write("bigvocab.safetensors", lm);
        e = Assert.Throws<InvalidDataException>(() => Backbones.LoadLanguage(target, path));
        Assert.Contains("lm_vocab_size", e.Message);
    }
}
