using System.Diagnostics;
using NanoVlm.SampleData;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>
/// Data-parallel training with the ranks started torchrun-style (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; no MPI
/// launcher, no Python): the test host over <see cref="NanoVlm.Engine.Distributed.TcpCommunicator"/>. Runs everywhere
/// (needs neither MPI nor torchrun); one job at a time, with the MPI jobs.
/// </summary>
[Collection(nameof(MpiJobs))]
public sealed class TcpDataParallelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-tcp-").FullName;
    private readonly string _data;

    public TcpDataParallelTests()
    {
        _data = Path.Combine(_dir, "data");
        SampleDataWriter.Write(_data, new SampleDataOptions { Rows = 64, Shards = 2 });
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact(Timeout = 900_000)]
    public async Task Two_tcp_ranks_of_batch_4_match_one_process_on_the_combined_batch_of_8_for_both_objectives()
    {
        await Task.Yield();
        DataParallelEquivalence.Check(_dir, _data, args => TcpJob.Start(2, args));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_killed_rank_makes_the_other_exit_non_zero_within_60_s_naming_it()
    {
        await Task.Yield();
        using var job = TcpJob.Start(2, "train", _data, Path.Combine(_dir, "killed"), "steps=100000", "ga=1", "batch=2");
        Assert.NotNull(job.WaitForLine(l => l.StartsWith("rank 0 step 2 ", StringComparison.Ordinal), TimeSpan.FromMinutes(3)));
        int pid1 = job.Pid(1);
        Process.GetProcessById(pid1).Kill();
        var clock = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60), [0]), "rank 0 kept running 60 s after rank 1 was killed:\n" + job.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, job.ExitCodeOf(0));
        Assert.Contains($"error: rank 0 of 2: rank 1 (pid {pid1} on", job.Output);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_hung_rank_makes_the_other_give_up_after_the_timeout_naming_itself_and_the_collective()
    {
        await Task.Yield();
        using var job = TcpJob.Start(2, "train", _data, Path.Combine(_dir, "hung"), "steps=100000", "ga=1", "batch=2", "timeout=5");
        Assert.NotNull(job.WaitForLine(l => l.StartsWith("rank 1 step 1 ", StringComparison.Ordinal), TimeSpan.FromMinutes(3)));
        Assert.Equal(0, Kill(job.Pid(1), 19)); // SIGSTOP: alive, silent, its sockets open
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60), [0]), "rank 0 waited more than 60 s for a stopped rank 1:\n" + job.Output);
        Assert.Equal(75, job.ExitCodeOf(0));
        Assert.Matches(@"error: rank 0 of 2 \(pid \d+\): step \d+: all-reduce \(\w+\) of \d+ \w+ has waited \d+ s for the other ranks \(timeout 5 s\)", job.Output);
    }

    [Fact(Timeout = 300_000)]
    public async Task Ranks_started_with_different_settings_refuse_to_train_naming_the_rank_and_the_setting()
    {
        await Task.Yield();
        string output = Path.Combine(_dir, "mismatch");
        using var job = TcpJob.Start(2, rank => ["train", _data, output, rank == 0 ? "steps=5" : "steps=6"]);
        Assert.True(job.WaitForExit(TimeSpan.FromMinutes(2)), job.Output);
        Assert.NotEqual(0, job.ExitCode);
        Assert.Contains("rank 1 differs from rank 0 in steps ('6' here, '5' on rank 0)", job.Output);
        Assert.DoesNotContain("step 1 loss", job.Output);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
