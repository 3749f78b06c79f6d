using System.Globalization;
using System.Text.Json;
using NanoVlm.Engine.Distributed;

// Namespace NanoVlm.Cli (not .Commands), as TrainCommand.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm train</c> as one rank of a data-parallel job: the rank comes from the launcher's environment. Under MPICH's
/// <c>mpiexec</c>/<c>mpirun</c> (or SLURM's <c>srun --mpi=pmi2</c>) the gradients are all-reduced over MPI; started
/// torchrun-style (<c>RANK</c>, <c>WORLD_SIZE</c>, <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>, no MPI launcher) the ranks
/// meet at <c>MASTER_ADDR:MASTER_PORT</c> and all-reduce over TCP. Rank 0 writes.
/// </summary>
internal static class TrainDistributed
{
    // A TCP rank busy outside the collectives (a checkpoint, an evaluation) when a peer fails ends itself after this.
    private static readonly TimeSpan PeerFailureGrace = TimeSpan.FromSeconds(30);

    /// <summary>The collectives' transport, for the log.</summary>
    public static string Transport(LaunchEnvironment launch) => launch.Launcher == Launcher.Torchrun ? "TCP" : "MPI";

    /// <summary>Joins the job (or returns null for a single process that needs no collectives).</summary>
    public static DataParallel? Join(LaunchEnvironment launch, GradientObjective objective, double timeoutSeconds, TextWriter stderr)
    {
        if (!launch.IsDistributed)
            return objective == GradientObjective.GlobalTokenMean ? new DataParallel(new SingleProcessCommunicator(), objective) : null;
        if (timeoutSeconds <= 0) throw new ArgumentException($"--dist-timeout must be > 0 (is {timeoutSeconds}).");
        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        // torchrun-style variables alone: the ranks meet at MASTER_ADDR:MASTER_PORT over TCP; an MPI launcher: MPI.
        ICommunicator inner = launch.Launcher == Launcher.Torchrun
            ? TcpCommunicator.Connect(TcpRendezvousOptions.FromLaunch(launch, timeout, Environment.GetEnvironmentVariable), stderr, PeerFailureGrace)
            : new MpiCommunicator();
        var communicator = new WatchedCommunicator(inner, timeout, stderr);
        if (communicator.Rank != launch.Rank || communicator.Size != launch.WorldSize)
            throw new InvalidOperationException($"The communicator says rank {communicator.Rank} of {communicator.Size}, the launcher's environment rank {launch.Rank} of {launch.WorldSize}.");
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
