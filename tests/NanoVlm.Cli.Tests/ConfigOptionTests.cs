using System.Text.Json;
using NanoVlm.SampleData;
using NanoVlm.Testing;

using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>--config FILE.json</c> on loader, profile, pack and preprocess: the file's nanoVLM fields apply,
/// flags given on the command line override them, and a bad file is an error naming file and key.</summary>
public sealed class ConfigOptionTests : IDisposable
{
    private const int Rows = 16;
    private static readonly string[] Small = ["--vit-img-size", "32", "--max-img-size", "64", "--lm-max-length", "1024"];
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-config-cli-").FullName;

    public ConfigOptionTests() => SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = Rows });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string json)
    {
        var path = Path.Combine(_dir, $"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private JsonElement Loader(string command, params string[] extra)
    {
        var (code, stdout, stderr) = Invoke([command, "--data", Path.Combine(_dir, "data"), "--json", .. Small, .. extra]);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    private static long Dropped(JsonElement j, string reason) => j.GetProperty("dropped").GetProperty(reason).GetInt64();

    [Theory]
    [InlineData("loader")]
    [InlineData("profile")]
    public void TheFilesFieldsApply_AndFlagsOverrideThem(string command)
    {
        var plain = Loader(command);

        // The sample data's ratings are 1..5: a minimum of 6 drops every rated turn (training fields are accepted too).
        var strict = Config("""{"relevance_min_rating": 6, "batch_size": 1, "gradient_accumulation_steps": 8, "lr_mp": 0.001}""");
        var filtered = Loader(command, "--config", strict);
        Assert.True(Dropped(filtered, "Rating") > Dropped(plain, "Rating") + Rows / 2, filtered.ToString());

        // batch_size from the file, then --batch-size over it.
        var one = Config("""{"batch_size": 1}""");
        var fromFile = Loader(command, "--config", one);
        var byFlag = Loader(command, "--config", one, "--batch-size", "2");
        Assert.Equal(plain.GetProperty("samples").GetInt64(), fromFile.GetProperty("samples").GetInt64());
        Assert.True(fromFile.GetProperty("batches").GetInt64() > byFlag.GetProperty("batches").GetInt64());
        Assert.Equal(plain.GetProperty("batches").GetInt64(), byFlag.GetProperty("batches").GetInt64());
    }

    [Fact]
    public void Pack_ReadsLmMaxLengthAndMaxImagesPerKnapsack_FlagsOverride()
    {
        var config = Config("""{"lm_max_length": 2048, "max_images_per_knapsack": 9}""");
        var (code, stdout, stderr) = Invoke("pack", "--synthetic-items", "200", "--config", config);
        Assert.True(code == 0, stderr);
        Assert.Contains("L = 2048, at most 9 images per pack", stdout, StringComparison.Ordinal);
        (code, stdout, stderr) = Invoke("pack", "--synthetic-items", "200", "--config", config, "--seq-len", "8192");
        Assert.True(code == 0, stderr);
        Assert.Contains("L = 8192, at most 9 images per pack", stdout, StringComparison.Ordinal);
        (code, stdout, _) = Invoke("pack", "--synthetic-items", "200");
        Assert.Contains("L = 4096, at most 18 images per pack", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_ReadsTheImageFields_FlagsOverride()
    {
        var image = Fixtures.Path("decode", "png_rgb_37x23.png");
        var config = Config("""{"vit_img_size": 16, "max_img_size": 48}""");
        int[] Shape(params string[] extra)
        {
            var outDir = Path.Combine(_dir, $"pre-{Guid.NewGuid():N}");
            var (code, _, stderr) = Invoke(["preprocess", image, "--out", outDir, .. extra]);
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "png_rgb_37x23.json")));
            var r = json.RootElement;
            return [r.GetProperty("resized")[0].GetInt32(), r.GetProperty("resized")[1].GetInt32()];
        }
        Assert.Equal([48, 32], Shape("--config", config));
        Assert.Equal([64, 48], Shape("--config", config, "--max-img-size", "64"));
    }

    [Theory]
    [InlineData("loader")]
    [InlineData("profile")]
    [InlineData("pack")]
    [InlineData("preprocess")]
    public void AnUnknownKeyFailsTheCommandNamingFileKeyAndTheClosestKey(string command)
    {
        var config = Config("""{"max_images_per_knapsak": 12}""");
        string[] args = command switch
        {
            "pack" => ["pack", "--synthetic-items", "10", "--config", config],
            "preprocess" => ["preprocess", Fixtures.Path("decode", "png_rgb_37x23.png"), "--out", _dir, "--config", config],
            _ => [command, "--data", Path.Combine(_dir, "data"), "--config", config],
        };
        var (code, _, stderr) = Invoke(args);
        Assert.Equal(2, code);
        Assert.Contains(config, stderr, StringComparison.Ordinal);
        Assert.Contains("\"max_images_per_knapsak\"", stderr, StringComparison.Ordinal);
        Assert.Contains("did you mean \"max_images_per_knapsack\"", stderr, StringComparison.Ordinal);
    }
}
