using System.Diagnostics;
using System.Text.Json;
using NanoVlm.SampleData;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm train</c> as ranks of a job started by MPICH's mpiexec or torchrun-style (child processes: the
/// launcher's environment is per process).</summary>
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
        foreach (var name in new[] { "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "OMPI_COMM_WORLD_SIZE" }) start.Environment.Remove(name);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    // N processes with torchrun's variables (a free MASTER_PORT on 127.0.0.1): rank 0's stdout, every rank's stderr,
    // the first non-zero exit code.
    private static (int Code, string Out, string Err) RunTorchrunStyle(int size, string[] args, TimeSpan timeout)
    {
        int port = FreePort();
        var ranks = Enumerable.Range(0, size).Select(rank => Task.Run(() => Run("dotnet", [Cli, .. args], new Dictionary<string, string?>
        {
            ["RANK"] = $"{rank}", ["LOCAL_RANK"] = $"{rank}", ["WORLD_SIZE"] = $"{size}", ["LOCAL_WORLD_SIZE"] = $"{size}",
            ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = $"{port}", ["OMP_NUM_THREADS"] = "1",
        }, timeout))).ToArray();
        var results = ranks.Select(t => t.GetAwaiter().GetResult()).ToList();
        return (results.Select(r => r.Code).FirstOrDefault(c => c != 0), results[0].Out, string.Join("\n", results.Select(r => r.Err)));
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private string[] Common(string run) => ["--data", Path.Combine(_dir, "data"), "--config", Config(), "--out", run, "--batch-size", "1",
        "--workers", "1", "--device", "cpu", "--json"];

    private string Config()
    {
        string config = Path.Combine(_dir, "small.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        return config;
    }

    [SkippableFact]
    public void Two_ranks_write_one_run_folder_with_every_ranks_loader_state_and_resume_each_rank()
    {
        Skip.If(Mpiexec is null, "MPICH's mpiexec is not installed (apt-get install mpich; .ci/run installs it)");
        var env = new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = "1" };
        WriteOneRunFolderAndResume(args => Run(Mpiexec!, ["-n", "2", "dotnet", Cli, .. args], env, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Two_torchrun_style_ranks_over_tcp_write_one_run_folder_and_resume_each_rank()
        => WriteOneRunFolderAndResume(args => RunTorchrunStyle(2, args, TimeSpan.FromMinutes(5)));

    [Fact]
    public void A_torchrun_style_rank_whose_master_cannot_be_reached_fails_naming_the_address()
    {
        int port = FreePort();
        var (code, _, err) = Run("dotnet", [Cli, "train", .. Common(Path.Combine(_dir, "alone")), "--max-steps", "1", "--dist-timeout", "2"],
            new Dictionary<string, string?> { ["RANK"] = "1", ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port.ToString() }, TimeSpan.FromMinutes(2));
        Assert.Equal(2, code);
        Assert.Contains($"error: rank 1 could not connect to rank 0 at MASTER_ADDR:MASTER_PORT = 127.0.0.1:{port} within 2 s", err);
    }

    // Two ranks train 2 steps into one run folder, then resume to step 3; launch gets nanovlm's arguments.
    private void WriteOneRunFolderAndResume(Func<string[], (int Code, string Out, string Err)> launch)
    {
        string run = Path.Combine(_dir, "run");
        var first = launch(["train", .. Common(run), "--max-steps", "2"]);
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

        var resumed = launch(["train", .. Common(run), "--resume", Path.Combine(run, "step_2"), "--max-steps", "3"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("steps").GetInt64());
        Assert.True(Directory.Exists(Path.Combine(run, "step_3")));
    }
}
