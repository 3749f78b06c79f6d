using NanoVlm.Engine.Internal;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>config.json as nanoVLM reads and writes it, and one clear error per inconsistent configuration.</summary>
public class ConfigTests
{
    [Fact]
    public void Default_config_has_nanovlms_37_fields_in_order()
    {
        string json = new VlmConfig().ToJson();
        var keys = System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(VlmConfig.FieldNames, keys);
        Assert.Equal(37, keys.Length);
        Assert.Contains("\"vit_ln_eps\": 1e-06,", json);
        Assert.Contains("\"lm_re_base\": 100000,", json);
        Assert.Contains("\"vit_dropout\": 0.0,", json);
        Assert.Contains("\"r8c8\": \"<row_8_col_8>\"", json);
        Assert.Contains("'\\n' + message['content']", json);
        Assert.False(json.EndsWith('\n'));
    }

    [Theory]
    [InlineData(1e-06, "1e-06")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.00512, "0.00512")]
    [InlineData(5e-05, "5e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(100000.0, "100000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1234567890123456.0, "1234567890123456.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5e-10, "-2.5e-10")]
    [InlineData(1.0, "1.0")]
    public void Floats_are_written_as_python_repr(double value, string python)
        => Assert.Equal(python, PythonJsonWriter.FormatFloat(value));

    [Fact]
    public void Unknown_keys_of_older_nanovlm_checkpoints_are_ignored_and_reported()
    {
        var cfg = VlmConfig.Parse("""{"lm_hidden_dim": 64, "lm_n_heads": 4, "lm_n_kv_heads": 2, "lm_eos_token_id": 0}"""u8);
        Assert.Equal(64, cfg.LmHiddenDim);
        Assert.Equal(["lm_eos_token_id"], cfg.IgnoredKeys);
        Assert.DoesNotContain("lm_eos_token_id", cfg.ToJson());
    }

    [Theory]
    [InlineData("""{"mp_pixel_shuffle_factor": 3}""", "mp_pixel_shuffle_factor (3) does not divide the patch grid side (32")]
    [InlineData("""{"lm_n_heads": 7}""", "lm_n_heads (7) does not divide lm_hidden_dim (960)")]
    [InlineData("""{"vit_n_heads": 5}""", "vit_n_heads (5) does not divide vit_hidden_dim (768)")]
    [InlineData("""{"lm_n_kv_heads": 4}""", "lm_n_kv_heads (4) does not divide lm_n_heads (15)")]
    [InlineData("""{"mp_image_token_length": 32}""", "mp_image_token_length is 32 but the projector makes 64")]
    [InlineData("""{"lm_hidden_dim": "big"}""", "key 'lm_hidden_dim': expected a number")]
    [InlineData("""{"vit_patch_size": 1.5}""", "expected an integer")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    [InlineData("""{"lm_vocab""", "not valid JSON")]
    public void Inconsistent_configs_get_one_clear_error(string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => VlmConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json), "x/config.json"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("x/config.json", e.Message);
    }

    [Fact]
    public void Image_tokens_that_do_not_match_the_tiles_are_refused()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        using var ids = c.Get("in.input_ids");
        using var images = c.Get("in.images");
        using var fewer = images.narrow(0, 0, images.shape[0] - 1);
        var e = Assert.Throws<ArgumentException>(() => model.Embed(ids, fewer));
        Assert.Contains("image tokens", e.Message);
        Assert.Throws<ArgumentException>(() => model.Embed(ids, (Tensor?)null));
    }

    [Fact]
    public void Tiles_of_the_wrong_size_are_refused()
    {
        using var c = new EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        using var tiles = zeros(1, 3, 32, 32);
        var e = Assert.Throws<ArgumentException>(() => model.EncodeImages(tiles));
        Assert.Contains("vit_img_size", e.Message);
    }
}
