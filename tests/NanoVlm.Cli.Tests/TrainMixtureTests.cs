using System.Diagnostics;
using System.Text.Json;
using NanoVlm.SampleData;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm train</c> on a data mixture (<c>--mix PATH:WEIGHT[:STAGE]</c> or the config file's
/// <c>train_mixture</c>): the per-source training-set evaluation, stages, exact resume and the ranks' agreement.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class TrainMixtureTests : IDisposable
{
    private const string SmallModel = @"""lm_max_length"": 512, ""vit_img_size"": 32, ""max_img_size"": 64, ""vit_patch_size"": 8, ""mp_image_token_length"": 4, ""lm_n_blocks"": 1, ""vit_n_blocks"": 1";
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-train-mix-").FullName;

    public TrainMixtureTests()
    {
        SampleDataWriter.Write(Business, new SampleDataOptions { Rows = 12, Seed = 1 });
        SampleDataWriter.Write(General, new SampleDataOptions { Rows = 8, Seed = 2 });
        SampleDataWriter.Write(Late, new SampleDataOptions { Rows = 6, Seed = 3 });
    }

    private string Business => Path.Combine(_dir, "business");
    private string General => Path.Combine(_dir, "general");
    private string Late => Path.Combine(_dir, "late");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string name, string extra = "")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, "{" + SmallModel + extra + "}");
        return path;
    }

    private string[] Common(string config) => ["--config", config, "--batch-size", "1", "--workers", "1", "--device", "cpu", "--json"];

    private static List<JsonElement> Metrics(string run) => [.. File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];

    private static List<JsonElement> TrainEval(string run) => [.. Metrics(run).Where(r => r.TryGetProperty("epoch", out _))];

    [Fact]
    public void A_mixed_run_evaluates_each_source_by_name_after_each_epoch()
    {
        string run = Path.Combine(_dir, "mixed");
        var (code, stdout, stderr) = Invoke(["train", "--mix", $"{Business}:3", "--mix", $"{General}:1", .. Common(Config("mixed.json")),
            "--out", run, "--max-steps", "16"]);
        Assert.True(code == 0, stderr);
        Assert.Equal(16, JsonDocument.Parse(stdout).RootElement.GetProperty("steps").GetInt64());
        var evaluations = TrainEval(run);
        Assert.NotEmpty(evaluations);
        foreach (var e in evaluations)
            foreach (var source in new[] { "business", "general" })
            {
                double loss = e.GetProperty($"train_eval/{source}/loss").GetDouble();
                Assert.True(loss > 0 && double.IsFinite(loss), $"{source}: {loss}");
                Assert.Equal(Math.Exp(loss), e.GetProperty($"train_eval/{source}/perplexity").GetDouble(), 9);
                Assert.True(e.GetProperty($"train_eval/{source}/tokens").GetInt64() > 0);
            }
        // The two sources hold different rows: their losses differ.
        Assert.NotEqual(evaluations[0].GetProperty("train_eval/business/loss").GetDouble(), evaluations[0].GetProperty("train_eval/general/loss").GetDouble());
        var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_options.json"))).RootElement;
        var mixture = options.GetProperty("mixture").EnumerateArray().ToList();
        Assert.Equal([3.0, 1.0], mixture.Select(m => m.GetProperty("Weight").GetDouble()));
        Assert.Equal([Business, General], mixture.Select(m => m.GetProperty("Path").GetString()));
        Assert.Contains("weight 3", options.GetProperty("data").GetString());

        // The text output names the sources too.
        var text = Invoke(["train", "--mix", $"{Business}:3", "--mix", $"{General}:1", "--config", Config("mixed.json"), "--batch-size", "1", "--workers", "1",
            "--device", "cpu", "--out", Path.Combine(_dir, "mixed-text"), "--max-steps", "16"]);
        Assert.True(text.Code == 0, text.Err);
        Assert.Matches(@"on the training set: business loss \d+\.\d+ perplexity \d+\.\d+, general loss", text.Out);
    }

    [Fact]
    public void The_config_files_train_mixture_is_the_mixture_and_a_bad_entry_is_named()
    {
        string run = Path.Combine(_dir, "from-config");
        string config = Config("mix.json", $$""", "train_mixture": [{{JsonSerializer.Serialize(Business + ":2")}}, {{JsonSerializer.Serialize(General + ":1")}}], "train_eval_batches": 2""");
        var (code, _, stderr) = Invoke(["train", .. Common(config), "--out", run, "--max-steps", "16"]);
        Assert.True(code == 0, stderr);
        Assert.NotEmpty(TrainEval(run));
        var e = TrainEval(run)[0];
        Assert.True(e.TryGetProperty("train_eval/business/loss", out _) && e.TryGetProperty("train_eval/general/loss", out _), e.GetRawText());
        var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_options.json"))).RootElement;
        Assert.Equal([2.0, 1.0], options.GetProperty("mixture").EnumerateArray().Select(m => m.GetProperty("Weight").GetDouble()));

        // --data on the command line replaces the file's mixture.
        var flag = Invoke(["train", "--data", Late, .. Common(config), "--out", Path.Combine(_dir, "flag"), "--max-steps", "1"]);
        Assert.True(flag.Code == 0, flag.Err);
        Assert.Single(JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "flag", "train_options.json"))).RootElement.GetProperty("mixture").EnumerateArray());

        string bad = Config("bad-mix.json", $$""", "train_mixture": [{{JsonSerializer.Serialize(Business + ":2")}}, {{JsonSerializer.Serialize(General + ":-1")}}]""");
        var failed = Invoke(["train", .. Common(bad), "--out", Path.Combine(_dir, "bad"), "--max-steps", "1"]);
        Assert.Equal(2, failed.Code);
        Assert.Contains("bad-mix.json", failed.Err);
        Assert.Contains("train_mixture", failed.Err);
        Assert.Contains($"entry 1: {General}:-1", failed.Err);
        bad = Config("bad-mix2.json", """, "train_mixture": "business:1" """);
        failed = Invoke(["train", .. Common(bad), "--out", Path.Combine(_dir, "bad"), "--max-steps", "1"]);
        Assert.Equal(2, failed.Code);
        Assert.Contains("expected a non-empty list", failed.Err);
        failed = Invoke(["train", "--mix", $"{Business}:0", .. Common(Config("plain.json")), "--out", Path.Combine(_dir, "bad"), "--max-steps", "1"]);
        Assert.Equal(2, failed.Code);
        Assert.Contains("PATH:WEIGHT", failed.Err);
    }

    [Fact]
    public void A_resumed_staged_mixture_run_equals_the_uninterrupted_run()
    {
        string config = Config("staged.json", """, "train_eval_batches": 3""");
        string[] mix = ["--mix", $"{Business}:3", "--mix", $"{General}:1", "--mix", $"{Late}:1:1"];
        string straightRun = Path.Combine(_dir, "staged-straight");
        var straight = Invoke(["train", .. mix, .. Common(config), "--out", straightRun, "--max-steps", "24", "--eval-interval", "8"]);
        Assert.True(straight.Code == 0, straight.Err);
        // Stage 0 (one pass over business and general) handed over to stage 1 (late, repeated) within the run.
        var loader = JsonDocument.Parse(JsonDocument.Parse(File.ReadAllText(Path.Combine(straightRun, "step_24", "trainer_state.json")))
            .RootElement.GetProperty("LoaderState").GetString()!).RootElement;
        Assert.Equal(1, loader.GetProperty("Stage").GetInt32());
        var positions = loader.GetProperty("Sources").EnumerateArray().ToList();
        Assert.True(positions[0].GetProperty("Ended").GetBoolean() && positions[1].GetProperty("Ended").GetBoolean());
        Assert.True(positions[2].GetProperty("Epoch").GetInt32() >= 1, "the last stage repeats");
        Assert.True(TrainEval(straightRun).Count >= 2, "an evaluation after stage 0 and after an epoch of stage 1");

        // The interrupted run: the straight run's folder as it stood at step 8.
        string run = Path.Combine(_dir, "staged-resumed");
        foreach (var f in Directory.GetFiles(straightRun, "*", SearchOption.AllDirectories).Where(f => !f.Contains("step_16", StringComparison.Ordinal) && !f.Contains("step_24", StringComparison.Ordinal)))
        {
            string target = Path.Combine(run, Path.GetRelativePath(straightRun, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        File.WriteAllLines(Path.Combine(run, "metrics.jsonl"), File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Where(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64() <= 8));
        string step8 = Path.Combine(run, "step_8");

        var other = Invoke(["train", "--mix", $"{Business}:1", "--mix", $"{General}:1", "--mix", $"{Late}:1:1", .. Common(config), "--resume", step8, "--max-steps", "24"]);
        Assert.Equal(2, other.Code);
        Assert.Contains($"--resume {step8}: its loader state was saved for another data mixture", other.Err);

        var resumed = Invoke(["train", .. mix, .. Common(config), "--resume", step8, "--max-steps", "24", "--eval-interval", "8"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        static string Rows(string r, Func<JsonElement, bool> which) => string.Join("\n", Metrics(r).Where(m => m.GetProperty("step").GetInt64() > 8 && which(m))
            .Select(m => string.Join(",", m.EnumerateObject().Where(p => p.Name is not ("elapsed" or "tokens_per_second" or "data_load_time" or "fw_bw_time")).Select(p => $"{p.Name}={p.Value}"))));
        Assert.Equal(Rows(straightRun, m => m.TryGetProperty("loss", out _)), Rows(run, m => m.TryGetProperty("loss", out _)));
        Assert.Equal(Rows(straightRun, m => m.TryGetProperty("epoch", out _)), Rows(run, m => m.TryGetProperty("epoch", out _)));
        Assert.NotEmpty(Rows(run, m => m.TryGetProperty("epoch", out _))); // a per-source evaluation happened after the resume
        Assert.Equal(File.ReadAllBytes(Path.Combine(straightRun, "step_24", "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "step_24", "model.safetensors")));
    }

    [SkippableFact]
    public void Ranks_started_with_different_mixtures_refuse_to_train()
    {
        string? mpiexec = new[] { "/usr/bin/mpiexec.mpich", "/usr/bin/mpiexec" }.FirstOrDefault(File.Exists);
        Skip.If(mpiexec is null, "MPICH's mpiexec is not installed (apt-get install mpich; .ci/run installs it)");
        string cli = Path.Combine(AppContext.BaseDirectory, "nanovlm.dll"), config = Config("dp.json"), run = Path.Combine(_dir, "dp");
        string[] Rank(string weight) => ["-n", "1", "dotnet", cli, "train", "--mix", $"{Business}:{weight}", "--mix", $"{General}:1", .. Common(config), "--out", run, "--max-steps", "1"];
        var start = new ProcessStartInfo(mpiexec!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[.. Rank("3"), ":", .. Rank("2")]) start.ArgumentList.Add(a);
        foreach (var name in new[] { "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_SIZE" }) start.Environment.Remove(name);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); Assert.Fail("mpiexec ran over 5 minutes"); }
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("The ranks were started with different settings", stderr.Result);
        Assert.Contains("rank 1 differs from rank 0 in", stderr.Result);
        Assert.Contains("weight 2", stderr.Result);
        Assert.False(Directory.Exists(Path.Combine(run, "step_1")));
    }
}
