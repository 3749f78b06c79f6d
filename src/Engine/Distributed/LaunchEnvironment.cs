using System.Globalization;

namespace NanoVlm.Engine.Distributed;

/// <summary>Who started this process.</summary>
public enum Launcher
{
    /// <summary>Nobody in particular: a single process.</summary>
    None,

    /// <summary>MPICH's Hydra <c>mpiexec</c>/<c>mpirun</c> (or another PMI launcher such as SLURM's <c>srun --mpi=pmi2</c>):
    /// <c>PMI_RANK</c>, <c>PMI_SIZE</c>.</summary>
    Mpi,

    /// <summary>torchrun-style variables only (<c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>,
    /// <c>MASTER_PORT</c>), no MPI launcher.</summary>
    Torchrun,
}

/// <summary>
/// This process's place in a multi-process run, read from the environment the launcher set: MPICH's Hydra sets
/// <c>PMI_RANK</c>/<c>PMI_SIZE</c> (and <c>MPI_LOCALRANKID</c>/<c>MPI_LOCALNRANKS</c>), torchrun sets <c>RANK</c>,
/// <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>, <c>MASTER_PORT</c> (nanoVLM's train.py treats a run as
/// distributed when <c>RANK</c> and <c>WORLD_SIZE</c> exist). Open MPI's launcher (<c>OMPI_COMM_WORLD_*</c>) is
/// recognised only to be refused with a clear message: its ABI is not MPICH's.
/// </summary>
/// <param name="Launcher">Who started the process.</param>
/// <param name="Rank">This process's rank, 0-based.</param>
/// <param name="WorldSize">Number of processes.</param>
/// <param name="LocalRank">Rank among the processes of this machine (selects the GPU).</param>
/// <param name="MasterAddress">torchrun's <c>MASTER_ADDR:MASTER_PORT</c>, when set.</param>
public sealed record LaunchEnvironment(Launcher Launcher, int Rank, int WorldSize, int LocalRank, string? MasterAddress)
{
    /// <summary>Processes on this machine (<c>MPI_LOCALNRANKS</c> or torchrun's <c>LOCAL_WORLD_SIZE</c>; 1 when unknown).</summary>
    public int LocalWorldSize { get; init; } = 1;

    /// <summary>A single process.</summary>
    public static LaunchEnvironment Single { get; } = new(Launcher.None, 0, 1, 0, null);

    /// <summary>Whether more than one process takes part.</summary>
    public bool IsDistributed => WorldSize > 1;

    /// <summary>Reads the environment of this process.</summary>
    /// <returns>The launch environment.</returns>
    /// <exception cref="InvalidOperationException">Inconsistent or unsupported variables, named.</exception>
    public static LaunchEnvironment Detect() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>Reads a launch environment from <paramref name="get"/>.</summary>
    /// <param name="get">Looks a variable up (null when unset).</param>
    /// <returns>The launch environment.</returns>
    /// <exception cref="InvalidOperationException">Inconsistent or unsupported variables, named.</exception>
    public static LaunchEnvironment Detect(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        string? master = get("MASTER_ADDR") is { Length: > 0 } addr ? $"{addr}:{get("MASTER_PORT") ?? "29500"}" : null;
        if (get("OMPI_COMM_WORLD_SIZE") is { } ompi && Int("OMPI_COMM_WORLD_SIZE", ompi) > 1)
            throw new InvalidOperationException("This process was started by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE is set); " +
                "nanovlm binds MPICH's ABI (libmpich.so.12: MPICH, Intel MPI, MVAPICH, Cray MPICH). Start it with MPICH's mpiexec.");
        if (get("PMI_SIZE") is { } pmiSize && get("PMI_RANK") is { } pmiRank)
        {
            int size = Int("PMI_SIZE", pmiSize), rank = Int("PMI_RANK", pmiRank);
            int local = get("MPI_LOCALRANKID") is { } l ? Int("MPI_LOCALRANKID", l)
                : get("LOCAL_RANK") is { } lr ? Int("LOCAL_RANK", lr) : rank;
            if (get("WORLD_SIZE") is { } ws && Int("WORLD_SIZE", ws) != size)
                throw new InvalidOperationException($"WORLD_SIZE={ws} disagrees with the MPI launcher's PMI_SIZE={size}; unset WORLD_SIZE or make them equal.");
            int localSize = get("MPI_LOCALNRANKS") is { } ln ? Int("MPI_LOCALNRANKS", ln) : get("LOCAL_WORLD_SIZE") is { } lw ? Int("LOCAL_WORLD_SIZE", lw) : 1;
            return Checked(new LaunchEnvironment(Launcher.Mpi, rank, size, local, master) { LocalWorldSize = localSize }, "PMI_RANK");
        }
        if (get("WORLD_SIZE") is { } worldText && get("RANK") is { } rankText)
        {
            int size = Int("WORLD_SIZE", worldText), rank = Int("RANK", rankText);
            int local = get("LOCAL_RANK") is { } lr ? Int("LOCAL_RANK", lr) : rank;
            int localSize = get("LOCAL_WORLD_SIZE") is { } lw ? Int("LOCAL_WORLD_SIZE", lw) : 1;
            return Checked(new LaunchEnvironment(size > 1 ? Launcher.Torchrun : Launcher.None, rank, size, local, master) { LocalWorldSize = localSize }, "RANK");
        }
        return Single;
    }

    private static LaunchEnvironment Checked(LaunchEnvironment e, string rankName)
    {
        if (e.WorldSize < 1) throw new InvalidOperationException($"The world size is {e.WorldSize}; it must be ≥ 1.");
        if (e.Rank < 0 || e.Rank >= e.WorldSize)
            throw new InvalidOperationException($"{rankName}={e.Rank} is outside [0, {e.WorldSize}).");
        if (e.LocalRank < 0) throw new InvalidOperationException($"The local rank is {e.LocalRank}; it must be ≥ 0.");
        return e;
    }

    private static int Int(string name, string value)
        => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new InvalidOperationException($"Environment variable {name}='{value}' is not an integer.");
}
