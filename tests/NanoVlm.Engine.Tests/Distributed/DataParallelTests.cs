using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using NanoVlm.Engine.Checkpoints;
using NanoVlm.SampleData;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>
/// Data-parallel training across processes under MPICH's mpiexec (the test host, tests/NanoVlm.DataParallelHost, is
/// one rank of the Trainer with a DataParallel; its "reference" mode is one process on every rank's packs at once).
/// A tiny model, 1 thread per rank, so that the jobs fit a 2-core CI machine. Skipped without mpiexec.
/// </summary>
[Collection(nameof(MpiJobs))]
public sealed partial class DataParallelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-dp-").FullName;
    private readonly string _data;

    public DataParallelTests()
    {
        _data = Path.Combine(_dir, "data");
        SampleDataWriter.Write(_data, new SampleDataOptions { Rows = 64, Shards = 2 });
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact(Timeout = 900_000)]
    public async Task Two_ranks_of_batch_4_match_one_process_on_the_combined_batch_of_8_for_both_objectives()
    {
        Skip.If(MpiJob.Mpiexec is null, MpiJob.NoMpiexec);
        await Task.Yield();
        DataParallelEquivalence.Check(_dir, _data, args => MpiJob.Start(2, args));
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task A_killed_rank_ends_the_job_with_a_non_zero_exit_within_60_s()
    {
        Skip.If(MpiJob.Mpiexec is null, MpiJob.NoMpiexec);
        await Task.Yield();
        using var job = MpiJob.Start(2, "train", _data, Path.Combine(_dir, "killed"), "steps=100000", "ga=1", "batch=2");
        var (pid0, pid1) = Pids(job);
        Assert.NotNull(job.WaitForLine(l => l.StartsWith("rank 0 step 2 ", StringComparison.Ordinal), TimeSpan.FromMinutes(3)));
        Process.GetProcessById(pid1).Kill();
        var clock = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "rank 0 kept running 60 s after rank 1 was killed:\n" + job.Output);
        Assert.NotEqual(0, job.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid0)); // no rank left behind
        // MPICH's launcher names the dead process by pid; each rank printed its pid at the start.
        Assert.Contains($"PID {pid1} RUNNING AT", job.Output);
        Assert.Contains($"rank 1 of 2: pid {pid1}", job.Output);
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task A_hung_rank_makes_the_other_give_up_after_the_timeout_naming_itself_and_the_collective()
    {
        Skip.If(MpiJob.Mpiexec is null, MpiJob.NoMpiexec);
        await Task.Yield();
        using var job = MpiJob.Start(2, "train", _data, Path.Combine(_dir, "hung"), "steps=100000", "ga=1", "batch=2", "timeout=5");
        var (_, pid1) = Pids(job);
        Assert.NotNull(job.WaitForLine(l => l.StartsWith("rank 1 step 1 ", StringComparison.Ordinal), TimeSpan.FromMinutes(3)));
        Assert.Equal(0, Kill(pid1, 19)); // SIGSTOP: alive, silent
        try
        {
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "rank 0 waited more than 60 s for a stopped rank 1:\n" + job.Output);
            Assert.NotEqual(0, job.ExitCode);
            Assert.Matches(@"error: rank 0 of 2 \(pid \d+\): step \d+: all-reduce \(\w+\) of \d+ \w+ has waited \d+ s for the other ranks \(timeout 5 s\)", job.Output);
        }
        finally
        {
            _ = Kill(pid1, 9);
        }
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task Ranks_started_with_different_settings_refuse_to_train_naming_the_rank_and_the_setting()
    {
        Skip.If(MpiJob.Mpiexec is null, MpiJob.NoMpiexec);
        await Task.Yield();
        string output = Path.Combine(_dir, "mismatch");
        using var job = MpiJob.Start(0, [.. MpiJob.Part(false, "train", _data, output, "steps=5"), .. MpiJob.Part(true, "train", _data, output, "steps=6")]);
        Assert.True(job.WaitForExit(TimeSpan.FromMinutes(2)), job.Output);
        Assert.NotEqual(0, job.ExitCode);
        Assert.Contains("rank 1 differs from rank 0 in steps ('6' here, '5' on rank 0)", job.Output);
        Assert.DoesNotContain("step 1 loss", job.Output);
    }

    private static (int Rank0, int Rank1) Pids(MpiJob job)
    {
        int Pid(int rank)
        {
            var line = job.WaitForLine(l => l.StartsWith($"rank {rank} of 2: pid ", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
            Assert.True(line is not null, "no start line of rank " + rank + ":\n" + job.Output);
            return int.Parse(PidOf().Match(line!).Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return (Pid(0), Pid(1));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"pid (\d+)")]
    private static partial Regex PidOf();
}

/// <summary>The MPI jobs run one at a time (each takes the machine's cores).</summary>
[CollectionDefinition(nameof(MpiJobs), DisableParallelization = true)]
public sealed class MpiJobs;
