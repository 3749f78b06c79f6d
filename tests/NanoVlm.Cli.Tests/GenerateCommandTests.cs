using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Loader.Text;
using NanoVlm.Testing;
using static NanoVlm.Cli.Tests.CliRunner;
using static TorchSharp.torch;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm generate</c> in-process on a tiny random checkpoint that uses the built-in tokenizer.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-generate-cli-").FullName;
    private readonly string _image;
    private readonly VlmConfig _config;

    public GenerateCommandTests()
    {
        var tok = VlmTokenizer.LoadDefault();
        _config = new VlmConfig
        {
            VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
            LmHiddenDim = 32, LmInterDim = 64, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tok.VocabularySize,
            MpPixelShuffleFactor = 2, MpImageTokenLength = 4, MaxImgSize = 64, LmTokenizer = "tiny/tokenizer",
        };
        manual_seed(3);
        using var model = new VisionLanguageModel(_config, tok.ImageTokenId);
        Checkpoint.Save(model, _dir);
        _image = Fixtures.Path("decode", Directory.GetFiles(Fixtures.Path("decode"), "*.png").Select(Path.GetFileName).First()!);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Greedy_json_gives_the_prompt_and_the_models_own_greedy_ids()
    {
        var (code, stdout, stderr) = Invoke(["generate", "--checkpoint", _dir, "--tokenizer", "default", "--image", _image,
            "--prompt", "What is this?", "--greedy", "--max-new-tokens", "6", "--json", "--device", "cpu"]);
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        int[] promptIds = [.. json.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32())];
        int[] ids = [.. json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(6, ids.Length);

        // The same prompt built by hand, and the same model's greedy ids.
        var tok = VlmTokenizer.LoadDefault();
        var encoder = new PromptEncoder(_config, tok);
        var encoded = encoder.Encode("What is this?", [(File.ReadAllBytes(_image), _image)]);
        Assert.Equal(encoded.Ids, promptIds);
        Assert.Contains(tok.ImageTokenId, promptIds);
        using var model = Checkpoint.Load(_dir, tok.ImageTokenId);
        var (pids, mask, tiles) = encoder.Batch([encoded]);
        using var expected = model.Generate(pids, tiles, mask, new GenerationOptions { Greedy = true, MaxNewTokens = 6, EosTokenId = tok.EosTokenId });
        Assert.Equal(expected.data<long>().ToArray().Select(v => (int)v), ids);
        Assert.Equal(CheckpointTokenizer.DecodeAnswer(tok, ids), json.GetProperty("text").GetString());
        Assert.True(json.GetProperty("tokens_per_s").GetDouble() > 0);
    }

    [Fact]
    public void Seeded_sampling_is_reproducible()
    {
        string[] args = ["generate", "--checkpoint", _dir, "--tokenizer", "default", "--image", _image, "--prompt", "Describe.",
            "--temperature", "1.5", "--top-k", "0", "--top-p", "1.0", "--max-new-tokens", "12", "--seed", "11", "--json", "--device", "cpu"];
        var a = Invoke(args);
        var b = Invoke(args);
        Assert.True(a.Code == 0, a.Err);
        Assert.Equal(JsonDocument.Parse(a.Out).RootElement.GetProperty("ids").ToString(),
            JsonDocument.Parse(b.Out).RootElement.GetProperty("ids").ToString());
    }

    [Fact]
    public void A_checkpoint_without_a_tokenizer_names_lm_tokenizer()
    {
        var (code, _, stderr) = Invoke(["generate", "--checkpoint", _dir, "--image", _image, "--prompt", "Hi"]);
        Assert.Equal(2, code);
        Assert.Contains("no tokenizer.json", stderr);
        Assert.Contains("tiny/tokenizer", stderr);
    }

    [Fact]
    public void A_missing_image_or_a_corrupt_one_is_an_error_naming_it()
    {
        var missing = Path.Combine(_dir, "nope.png");
        var (code, _, stderr) = Invoke(["generate", "--checkpoint", _dir, "--tokenizer", "default", "--image", missing, "--prompt", "Hi"]);
        Assert.Equal(2, code);
        Assert.Contains(missing, stderr);

        var corrupt = Path.Combine(_dir, "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        (code, _, stderr) = Invoke(["generate", "--checkpoint", _dir, "--tokenizer", "default", "--image", corrupt, "--prompt", "Hi"]);
        Assert.Equal(2, code);
        Assert.Contains("corrupt.png", stderr);
    }
}
