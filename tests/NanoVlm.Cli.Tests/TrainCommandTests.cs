using System.Text.Json;
using NanoVlm.SampleData;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm train</c> in-process: a short run on small generated data, its run folder, and generate on the
/// checkpoint it wrote.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-train-cli-").FullName;

    public TrainCommandTests() => SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = 24 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_short_run_writes_its_folder_and_a_checkpoint_generate_can_use()
    {
        string run = Path.Combine(_dir, "run");
        string config = Path.Combine(_dir, "small.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        var (code, stdout, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--out", run,
            "--max-steps", "4", "--eval-interval", "2", "--batch-size", "1", "--workers", "1", "--device", "cpu", "--json"]);
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(4, json.GetProperty("steps").GetInt64());
        Assert.False(json.GetProperty("interrupted").GetBoolean());
        string checkpoint = json.GetProperty("checkpoint").GetString()!;
        Assert.Equal(Path.Combine(run, "step_4"), checkpoint);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.model", "optimizer.safetensors", "trainer_state.json" })
            Assert.True(File.Exists(Path.Combine(checkpoint, f)), f);
        Assert.True(Directory.Exists(Path.Combine(run, "step_2")));
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(4, metrics.Count(l => l.Contains("\"batch_loss\"")));
        Assert.DoesNotContain(metrics, l => l.Contains("val_loss")); // --data without --val-data: no validation set
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(run, "tensorboard")));
        Assert.Contains("\"lm_max_length\": 512", File.ReadAllText(Path.Combine(run, "config.json")));

        string image = WriteImage();
        var gen = Invoke(["generate", "--checkpoint", checkpoint, "--image", image, "--prompt", "What is this?", "--greedy",
            "--max-new-tokens", "4", "--json", "--device", "cpu"]);
        Assert.True(gen.Code == 0, gen.Err);
        Assert.Equal(4, JsonDocument.Parse(gen.Out).RootElement.GetProperty("ids").GetArrayLength());
    }

    [Fact]
    public void A_lora_run_saves_merged_checkpoints_and_resumes_on_its_base_like_the_uninterrupted_run()
    {
        string config = Path.Combine(_dir, "lora.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1, "lora_rank": 2, "lora_alpha": 8}""");
        string[] common = ["--data", Path.Combine(_dir, "data"), "--config", config, "--batch-size", "1", "--workers", "1", "--device", "cpu", "--json"];
        string[] lora = ["--lora-rank", "4", "--lora-targets", "q_proj,v_proj,fc1", "--freeze", "vision", "--train-eval-batches", "0"];
        string straightRun = Path.Combine(_dir, "lora-straight");
        var straight = Invoke(["train", .. common, .. lora, "--out", straightRun, "--max-steps", "3", "--eval-interval", "2"]);
        Assert.True(straight.Code == 0, straight.Err);
        // The interrupted run: the straight run's folder as it stood at step 2 (same schedule, which depends on max steps).
        string run = Path.Combine(_dir, "lora-run");
        foreach (var f in Directory.GetFiles(straightRun, "*", SearchOption.AllDirectories).Where(f => !f.Contains("step_3", StringComparison.Ordinal)))
        {
            string target = Path.Combine(run, Path.GetRelativePath(straightRun, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        File.WriteAllLines(Path.Combine(run, "metrics.jsonl"), File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Where(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64() <= 2));
        string step2 = Path.Combine(run, "step_2");
        foreach (var f in new[] { "model.safetensors", "lora_adapters.safetensors", "lora.json" }) Assert.True(File.Exists(Path.Combine(step2, f)), f);
        Assert.True(File.Exists(Path.Combine(run, "lora_base.json")));
        var lj = JsonDocument.Parse(File.ReadAllText(Path.Combine(step2, "lora.json"))).RootElement;
        Assert.Equal(4, lj.GetProperty("rank").GetInt32());
        Assert.Equal(8, lj.GetProperty("alpha").GetDouble());
        Assert.All(lj.GetProperty("adapted_layers").EnumerateArray(), l => Assert.StartsWith("decoder.", l.GetString())); // vision frozen: no adapters there

        var wrong = Invoke(["train", .. common, "--resume", step2, "--max-steps", "3"]); // vision not frozen: adapters there too
        Assert.Equal(2, wrong.Code);
        Assert.Contains("--freeze", wrong.Err);
        // The LoRA settings come from the checkpoint; the learning rates, as for any resume, from the command.
        var resumed = Invoke(["train", .. common, "--freeze", "vision", "--resume", step2, "--max-steps", "3"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(Loss(straightRun, 3), Loss(run, 3));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "lora-straight", "step_3", "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "step_3", "model.safetensors")));

        string image = WriteImage();
        var gen = Invoke(["generate", "--checkpoint", Path.Combine(run, "step_3"), "--image", image, "--prompt", "What is this?", "--greedy",
            "--max-new-tokens", "2", "--json", "--device", "cpu"]);
        Assert.True(gen.Code == 0, gen.Err); // a plain nanoVLM checkpoint: loads strict

        string[] plain = ["--data", Path.Combine(_dir, "data"), "--config", Path.Combine(_dir, "plain.json"), "--batch-size", "1", "--workers", "1", "--device", "cpu"];
        File.WriteAllText(plain[3], """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        var bad = Invoke(["train", .. plain, "--lora-alpha", "4", "--out", Path.Combine(_dir, "bad"), "--max-steps", "1"]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("--lora-rank", bad.Err);
        bad = Invoke(["train", .. plain, "--freeze", "vision,eyes", "--out", Path.Combine(_dir, "bad"), "--max-steps", "1"]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("'eyes'", bad.Err);
    }

    private static double Loss(string run, long step) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement)
        .Last(r => r.TryGetProperty("loss", out _) && r.GetProperty("step").GetInt64() == step).GetProperty("loss").GetDouble();

    [Fact]
    public void Resume_continues_to_max_steps_and_a_bad_resume_folder_is_an_error()
    {
        string run = Path.Combine(_dir, "run2");
        string config = Path.Combine(_dir, "small2.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        string[] common = ["--data", Path.Combine(_dir, "data"), "--config", config, "--batch-size", "1", "--workers", "1", "--device", "cpu", "--json"];
        var first = Invoke(["train", .. common, "--out", run, "--max-steps", "2"]);
        Assert.True(first.Code == 0, first.Err);
        var resumed = Invoke(["train", .. common, "--resume", Path.Combine(run, "step_2"), "--max-steps", "3"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("steps").GetInt64());
        Assert.True(Directory.Exists(Path.Combine(run, "step_3")));

        var bad = Invoke(["train", .. common, "--resume", Path.Combine(_dir, "data")]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("config.json", bad.Err);
    }

    [Fact]
    public void Every_checkpoint_is_evaluated_in_process_and_logged_as_lmms_eval()
    {
        string run = Path.Combine(_dir, "run-eval"), evalData = Path.Combine(_dir, "eval-data");
        EvalTestData.WriteDocVqa(evalData, rows: 3);
        string config = Path.Combine(_dir, "small3.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        var (code, _, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--out", run, "--max-steps", "2",
            "--eval-interval", "1", "--batch-size", "1", "--workers", "1", "--device", "cpu", "--json",
            "--eval-tasks", "docvqa_val", "--eval-data-dir", evalData, "--eval-batch-size", "2"]);
        Assert.True(code == 0, stderr);
        foreach (var step in new[] { 1, 2 })
        {
            string merged = Path.Combine(run, "eval_results", "run-eval", $"step_{step}.json");
            Assert.True(File.Exists(merged), merged);
            var results = JsonDocument.Parse(File.ReadAllText(merged)).RootElement;
            Assert.Equal(step, results.GetProperty("global_step").GetInt64());
            Assert.InRange(results.GetProperty("results").GetProperty("docvqa_val_anls").GetDouble(), 0, 1);
        }
        var logged = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Where(l => l.Contains("lmms_eval/docvqa_val_anls")).ToList();
        Assert.Equal(2, logged.Count);

        var bad = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--max-steps", "1", "--eval-tasks", "mmstar", "--eval-data-dir", evalData]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("mmstar", bad.Err);
    }

    [Fact]
    public void An_unknown_config_key_is_named_with_the_closest_known_one()
    {
        string config = Path.Combine(_dir, "typo.json");
        File.WriteAllText(config, """{"lr_mpp": 0.1}""");
        var (code, _, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--config", config, "--max-steps", "1"]);
        Assert.Equal(2, code);
        Assert.Contains("lr_mpp", stderr);
        Assert.Contains("lr_mp", stderr);
    }

    private string WriteImage()
    {
        string path = Path.Combine(_dir, "image.bmp");
        // 2×2 24-bit BMP.
        byte[] bmp = [0x42, 0x4D, 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 24, 0,
            0, 0, 0, 0, 16, 0, 0, 0, 0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 0];
        File.WriteAllBytes(path, bmp);
        return path;
    }
}
