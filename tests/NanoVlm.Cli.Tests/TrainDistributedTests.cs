using System.Diagnostics;
using System.Text.Json;
using NanoVlm.SampleData;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm train</c> as ranks of an MPI job (child processes: the launcher's environment is per process).</summary>
public sealed class TrainDistributedTests : IDisposable
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "nanovlm.dll");
    private static readonly string? Mpiexec = new[] { "/usr/bin/mpiexec.mpich", "/usr/bin/mpiexec" }.FirstOrDefault(File.Exists);
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-train-dp-").FullName;

    public TrainDistributedTests() => SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = 24, Shards = 2 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, IDictionary<string, string?> env, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var name in new[] { "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_SIZE" }) start.Environment.Remove(name);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private string[] Common(string run) => ["--data", Path.Combine(_dir, "data"), "--config", Config(), "--out", run, "--batch-size", "1",
        "--workers", "1", "--device", "cpu", "--json"];

    private string Config()
    {
        string config = Path.Combine(_dir, "small.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        return config;
    }

    [Fact]
    public void Torchrun_variables_without_an_mpi_launcher_are_refused_with_the_command_that_works()
    {
        var (code, _, err) = Run("dotnet", [Cli, "train", .. Common(Path.Combine(_dir, "refused")), "--max-steps", "1"],
            new Dictionary<string, string?> { ["RANK"] = "1", ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "localhost", ["MASTER_PORT"] = "29500" }, TimeSpan.FromMinutes(2));
        Assert.Equal(2, code);
        Assert.Contains("RANK=1 and WORLD_SIZE=2 are set (torchrun-style) but no MPI launcher started this process", err);
        Assert.Contains("mpiexec -n 2 nanovlm train", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "refused")));
    }

    [SkippableFact]
    public void Two_ranks_write_one_run_folder_with_every_ranks_loader_state_and_resume_each_rank()
    {
        Skip.If(Mpiexec is null, "MPICH's mpiexec is not installed (apt-get install mpich; .ci/run installs it)");
        string run = Path.Combine(_dir, "run");
        var env = new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = "1" };
        var first = Run(Mpiexec!, ["-n", "2", "dotnet", Cli, "train", .. Common(run), "--max-steps", "2"], env, TimeSpan.FromMinutes(5));
        Assert.True(first.Code == 0, first.Err);
        var summary = JsonDocument.Parse(first.Out).RootElement; // one summary: rank 0's
        Assert.Equal(2, summary.GetProperty("world_size").GetInt32());
        Assert.Contains("rank 0 of 2: pid", first.Err);
        Assert.Contains("rank 1 of 2: pid", first.Err);

        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "step_2", "trainer_state.json"))).RootElement;
        Assert.Equal(2, state.GetProperty("WorldSize").GetInt32());
        var ranks = state.GetProperty("RankLoaderStates").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(2, ranks.Count);
        Assert.NotEqual(ranks[0], ranks[1]); // each rank read its own shard
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Where(l => l.Contains("\"batch_loss\"")).ToList();
        Assert.Equal(2, metrics.Count); // written once, by rank 0
        Assert.All(metrics, l => Assert.Contains("\"world_size\":2", l));

        var resumed = Run(Mpiexec!, ["-n", "2", "dotnet", Cli, "train", .. Common(run), "--resume", Path.Combine(run, "step_2"), "--max-steps", "3"], env, TimeSpan.FromMinutes(5));
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("steps").GetInt64());
        Assert.True(Directory.Exists(Path.Combine(run, "step_3")));
    }
}
