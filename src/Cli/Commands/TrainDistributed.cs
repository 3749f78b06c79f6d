using System.Globalization;
using System.Text.Json;
using NanoVlm.Engine.Distributed;

// Namespace NanoVlm.Cli (not .Commands), as TrainCommand.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm train</c> as one rank of a data-parallel job: the rank comes from the launcher's environment (MPICH's
/// <c>mpiexec</c>/<c>mpirun</c>, SLURM's <c>srun --mpi=pmi2</c>), the gradients are all-reduced over MPI, rank 0 writes.
/// torchrun-style variables alone (no MPI launcher) are refused with the command that works: the collectives are
/// MPI's and an MPI job is started by its launcher.
/// </summary>
internal static class TrainDistributed
{
    /// <summary>Joins the job (or returns null for a single process that needs no collectives).</summary>
    public static DataParallel? Join(LaunchEnvironment launch, GradientObjective objective, double timeoutSeconds, TextWriter stderr)
    {
        if (launch.Launcher == Launcher.Torchrun)
            throw new InvalidOperationException($"RANK={launch.Rank} and WORLD_SIZE={launch.WorldSize} are set (torchrun-style) but no MPI launcher " +
                $"started this process: start every rank with MPICH's launcher instead, e.g. `mpiexec -n {launch.WorldSize} nanovlm train ...` " +
                "(one machine) or `mpiexec -f hostfile -n N nanovlm train ...` / `srun --mpi=pmi2 nanovlm train ...` (a cluster); " +
                "MASTER_ADDR/MASTER_PORT are not needed.");
        if (!launch.IsDistributed)
            return objective == GradientObjective.GlobalTokenMean ? new DataParallel(new SingleProcessCommunicator(), objective) : null;
        if (timeoutSeconds <= 0) throw new ArgumentException($"--dist-timeout must be > 0 (is {timeoutSeconds}).");
        var communicator = new WatchedCommunicator(new MpiCommunicator(), TimeSpan.FromSeconds(timeoutSeconds), stderr);
        if (communicator.Rank != launch.Rank || communicator.Size != launch.WorldSize)
            throw new InvalidOperationException($"MPI says rank {communicator.Rank} of {communicator.Size}, the launcher's environment rank {launch.Rank} of {launch.WorldSize}.");
        // Each rank names its pid, so that the launcher's report of a dead pid names the rank.
        stderr.WriteLine($"rank {communicator.Rank} of {communicator.Size}: pid {Environment.ProcessId} on {Environment.MachineName} (local rank {launch.LocalRank})");
        return new DataParallel(communicator, objective);
    }

    /// <summary>Libtorch threads per rank: the machine's cores shared by its ranks (unless OMP_NUM_THREADS says otherwise).</summary>
    public static void ShareCores(LaunchEnvironment launch)
    {
        if (!launch.IsDistributed || Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is { Length: > 0 }) return;
        TorchSharp.torch.set_num_threads(Math.Max(1, Environment.ProcessorCount / Math.Max(1, launch.LocalWorldSize)));
    }

    /// <summary>The settings every rank must share, by name (compared by <see cref="RunAgreement"/>).</summary>
    public static List<KeyValuePair<string, string>> Settings(object trainSettings, string modelConfigJson, string? data, string? valData,
        string? fromDir, string? resumeDir, string? tokenizer, string weightsDigest, GradientObjective objective)
    {
        static string Full(string? p) => p is null ? "none" : Path.GetFullPath(p);
        return
        [
            new("training options", JsonSerializer.Serialize(trainSettings)),
            new("model config", modelConfigJson),
            new("data", data ?? "built-in"),
            new("validation data", valData ?? "none"),
            new("--checkpoint", Full(fromDir)),
            new("--resume", Full(resumeDir)),
            new("tokenizer", tokenizer ?? "built-in"),
            new("initial weights", weightsDigest),
            new("gradient objective", objective.ToString()),
        ];
    }

    /// <summary>The resumed loader state of this rank, with a note when the world size changed.</summary>
    public static string? ResumedLoaderState(Engine.Training.TrainerState state, int rank, int worldSize, TextWriter log)
    {
        if (state.WorldSize != worldSize)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  note: the checkpoint was written by {state.WorldSize} rank(s), this run has {worldSize}: each rank's data shard differs, so the data order restarts from the beginning (weights, optimizer, step and schedule continue)"));
        return state.LoaderStateOf(rank, worldSize);
    }
}
