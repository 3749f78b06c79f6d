using System.Text.Json;
using NanoVlm.SampleData;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm train --precision</c> and the <c>precision</c> configuration key.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class TrainPrecisionTests : IDisposable
{
    private const string SmallModel = "\"lm_max_length\": 512, \"vit_img_size\": 32, \"max_img_size\": 64, \"vit_patch_size\": 8, " +
        "\"mp_image_token_length\": 4, \"lm_n_blocks\": 1, \"vit_n_blocks\": 1";

    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-train-precision-").FullName;

    public TrainPrecisionTests() => SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = 12 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_bf16_run_trains_and_records_its_precision_and_the_flag_overrides_the_file()
    {
        string config = Path.Combine(_dir, "bf16.json");
        File.WriteAllText(config, "{" + SmallModel + """, "precision": "bf16"}""");
        string bf16 = Path.Combine(_dir, "bf16"), fp32 = Path.Combine(_dir, "fp32");
        string[] common = ["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--max-steps", "2", "--eval-interval", "0",
            "--batch-size", "1", "--workers", "1", "--device", "cpu", "--train-eval-batches", "0", "--json"];
        var (code, stdout, stderr) = Invoke([.. common, "--out", bf16]);
        Assert.True(code == 0, stderr);
        Assert.True(double.IsFinite(JsonDocument.Parse(stdout).RootElement.GetProperty("final_loss").GetDouble()));
        Assert.Equal("bf16", Precision(bf16));
        (code, _, stderr) = Invoke([.. common, "--out", fp32, "--precision", "fp32"]);
        Assert.True(code == 0, stderr);
        Assert.Equal("fp32", Precision(fp32));
        // Same seed, same data: the bf16 losses are not the float32 ones.
        Assert.NotEqual(Losses(bf16), Losses(fp32));
    }

    [Fact]
    public void A_bad_precision_is_refused_naming_the_flag_or_the_key()
    {
        var (code, _, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--precision", "half", "--max-steps", "1"]);
        Assert.NotEqual(0, code);
        Assert.Contains("half", stderr);
        Assert.Contains("bf16", stderr); // the values --precision accepts are listed

        string config = Path.Combine(_dir, "bad.json");
        File.WriteAllText(config, """{"precision": "fp16"}""");
        (code, _, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--max-steps", "1"]);
        Assert.NotEqual(0, code);
        Assert.Contains("bad.json", stderr);
        Assert.Contains("'precision'", stderr);
        Assert.Contains("fp16", stderr);
    }

    private static string Precision(string run)
        => JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_options.json"))).RootElement.GetProperty("precision").GetString()!;

    private static string[] Losses(string run)
        => [.. File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Where(l => l.Contains("\"batch_loss\""))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetRawText())];
}
