using NanoVlm.Engine.Checkpoints;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>Checkpoints interchangeable with nanoVLM's, and clear errors for files that are not.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("nanovlm-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Saving_a_loaded_nanovlm_checkpoint_reproduces_nanovlms_files_byte_for_byte(string name)
    {
        using var c = new EngineCase(name);
        using var model = c.LoadModel();
        Checkpoint.Save(model, _tmp);
        Assert.Equal(File.ReadAllBytes(Path.Combine(c.CheckpointDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(_tmp, "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(c.CheckpointDir, "config.json")), File.ReadAllText(Path.Combine(_tmp, "config.json")));
        Assert.False(File.Exists(Path.Combine(_tmp, "model.safetensors.tmp")));
    }

    [Fact]
    public void A_saved_checkpoint_reloads_with_identical_logits()
    {
        using var c = new EngineCase("b_mha_s4");
        using var model = c.LoadModel();
        // Change the weights so the test cannot pass by reading the fixture back.
        using (no_grad())
            foreach (var p in model.parameters()) p.mul_(1.01);
        Checkpoint.Save(model, _tmp);
        using var reloaded = Checkpoint.Load(_tmp, c.ImageTokenId);
        using var _ = no_grad();
        using var ids = c.Get("in.input_ids");
        using var mask = c.Get("in.attention_mask");
        using var images = c.Get("in.images");
        using var a = model.Logits(model.Forward(ids, images, mask));
        using var b = reloaded.Logits(reloaded.Forward(ids, images, mask));
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Fact]
    public void The_file_holds_the_tied_head_once_with_nanovlms_metadata_and_inv_freq()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        Checkpoint.Save(model, _tmp);
        using var f = SafeTensorsFile.Open(Path.Combine(_tmp, "model.safetensors"));
        Assert.Contains("decoder.head.weight", f.Tensors.Keys);
        Assert.DoesNotContain("decoder.token_embedding.weight", f.Tensors.Keys);
        Assert.Contains("decoder.rotary_embd.inv_freq", f.Tensors.Keys);
        Assert.Equal("decoder.head.weight", f.Metadata["decoder.token_embedding.weight"]);
        Assert.All(f.Tensors.Values, e => Assert.Equal("F32", e.DType));
    }

    [Fact]
    public void Bf16_and_f16_files_load_and_the_other_tied_name_is_accepted()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16 })
        {
            var (tensors, _) = Checkpoint.FileTensors(model);
            var converted = tensors.ToDictionary(kv => kv.Key == "decoder.head.weight" ? "decoder.token_embedding.weight" : kv.Key,
                kv => kv.Value.to(dtype));
            string path = Path.Combine(_tmp, $"{dtype}.safetensors");
            using (var fs = File.Create(path)) SafeTensorsWriter.Write(fs, converted);
            using var other = new VisionLanguageModel(model.Config, c.ImageTokenId);
            Checkpoint.LoadWeights(other, path);
            using var expected = model.Decoder.TokenEmbedding.weight!.to(dtype).to(ScalarType.Float32);
            Assert.True(other.Decoder.TokenEmbedding.weight!.equal(expected).all().item<bool>());
            foreach (var t in converted.Values) t.Dispose();
        }
    }

    [Fact]
    public void Missing_unexpected_and_misshaped_keys_are_all_named_in_one_error()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        var (tensors, meta) = Checkpoint.FileTensors(model);
        tensors.Remove("decoder.rotary_embd.inv_freq");
        tensors.Remove("MP.proj.weight");
        tensors["vision_encoder.extra.weight"] = zeros(3);
        tensors["decoder.norm.weight"] = zeros(7);
        string path = Path.Combine(_tmp, "bad.safetensors");
        using (var fs = File.Create(path)) SafeTensorsWriter.Write(fs, tensors, meta);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(model, path));
        Assert.Contains("missing key 'decoder.rotary_embd.inv_freq'", e.Message);
        Assert.Contains("missing key 'MP.proj.weight'", e.Message);
        Assert.Contains("unexpected key 'vision_encoder.extra.weight'", e.Message);
        Assert.Contains("'decoder.norm.weight' has shape [7]", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Both_tied_names_with_different_values_are_refused()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        var (tensors, _) = Checkpoint.FileTensors(model);
        tensors["decoder.token_embedding.weight"] = tensors["decoder.head.weight"] + 1;
        string path = Path.Combine(_tmp, "tied.safetensors");
        using (var fs = File.Create(path)) SafeTensorsWriter.Write(fs, tensors);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(model, path));
        Assert.Contains("tied", e.Message);
    }

    [Theory]
    [InlineData(4)]           // inside the 8-byte length
    [InlineData(100)]         // inside the header
    [InlineData(-16)]         // inside the last tensor
    public void A_truncated_file_names_the_file_and_offset(int cut)
    {
        using var c = new EngineCase("a_gqa2_s2");
        byte[] bytes = File.ReadAllBytes(Path.Combine(c.CheckpointDir, "model.safetensors"));
        int length = cut > 0 ? cut : bytes.Length + cut;
        string path = Path.Combine(_tmp, "cut.safetensors");
        File.WriteAllBytes(path, bytes[..length]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_corrupt_header_is_an_error_not_a_crash()
    {
        using var c = new EngineCase("a_gqa2_s2");
        byte[] bytes = File.ReadAllBytes(Path.Combine(c.CheckpointDir, "model.safetensors"));
        bytes[8] = (byte)'x'; // the header's opening brace
        string path = Path.Combine(_tmp, "corrupt.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains("corrupt safetensors header", e.Message);
    }

    [Fact]
    public void A_checkpoint_whose_config_does_not_fit_its_weights_is_refused()
    {
        using var c = new EngineCase("a_gqa2_s2");
        File.WriteAllBytes(Path.Combine(_tmp, "model.safetensors"), File.ReadAllBytes(Path.Combine(c.CheckpointDir, "model.safetensors")));
        var cfg = VlmConfig.Read(Path.Combine(c.CheckpointDir, "config.json"));
        cfg.LmInterDim += 8;
        cfg.Write(Path.Combine(_tmp, "config.json"));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(_tmp, c.ImageTokenId).Dispose());
        Assert.Contains("mlp.gate_proj.weight' has shape", e.Message);
    }

    [Fact]
    public void A_folder_without_weights_is_not_a_checkpoint()
    {
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(_tmp, 0).Dispose());
        Assert.Contains("config.json is missing", e.Message);
    }
}
