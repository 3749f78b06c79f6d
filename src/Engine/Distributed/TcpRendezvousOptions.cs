using System.Globalization;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// Where and how the ranks of a <see cref="TcpCommunicator"/> job meet: torchrun's <c>MASTER_ADDR</c>/<c>MASTER_PORT</c>
/// (rank 0 listens there, the others connect; under torchrun's static rendezvous, whose own store holds
/// <c>MASTER_PORT</c>, the port after it; <c>NANOVLM_MASTER_PORT</c> overrides), this rank, the world size, a run id
/// (two jobs that share an address refuse each other) and how long to wait for the others.
/// </summary>
/// <param name="MasterHost">Rank 0's host name or IP address (<c>MASTER_ADDR</c>).</param>
/// <param name="MasterPort">The port rank 0 listens on (<c>MASTER_PORT</c>).</param>
/// <param name="Rank">This rank.</param>
/// <param name="WorldSize">Number of ranks.</param>
public sealed record TcpRendezvousOptions(string MasterHost, int MasterPort, int Rank, int WorldSize)
{
    /// <summary>The job's id (torchrun's <c>TORCHELASTIC_RUN_ID</c>, else <c>NANOVLM_RUN_ID</c>); every rank must have the same.</summary>
    public string RunId { get; init; } = "";

    /// <summary>Longest wait for the other ranks to join (and rank 0 to be reachable).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The options of a torchrun-style launch.</summary>
    /// <param name="launch">The launch environment (its <see cref="LaunchEnvironment.MasterAddress"/> is <c>MASTER_ADDR:MASTER_PORT</c>).</param>
    /// <param name="timeout">Longest wait for the other ranks.</param>
    /// <param name="get">Looks an environment variable up (the run id).</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidOperationException">MASTER_ADDR is missing or MASTER_PORT is not a port, named.</exception>
    public static TcpRendezvousOptions FromLaunch(LaunchEnvironment launch, TimeSpan timeout, Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(get);
        if (launch.MasterAddress is not { Length: > 0 } master)
            throw new InvalidOperationException($"RANK={launch.Rank} and WORLD_SIZE={launch.WorldSize} are set but MASTER_ADDR is not: set MASTER_ADDR " +
                "to rank 0's host (127.0.0.1 on one machine) and MASTER_PORT to a free port on it, the same on every rank (torchrun sets both).");
        int colon = master.LastIndexOf(':');
        string host = master[..colon].Trim('[', ']');
        int port = Port("MASTER_PORT", master[(colon + 1)..]);
        string portVariable = "MASTER_PORT";
        if (get("NANOVLM_MASTER_PORT") is { Length: > 0 } own)
            (port, portVariable) = (Port("NANOVLM_MASTER_PORT", own), "NANOVLM_MASTER_PORT");
        else if (string.Equals(get("TORCHELASTIC_USE_AGENT_STORE"), "True", StringComparison.OrdinalIgnoreCase))
        {
            // torchrun's static rendezvous keeps its own TCPStore on MASTER_PORT (in the agent of node 0) for the
            // workers to share; the ranks meet on the next port instead.
            if (port == 65535) throw new InvalidOperationException("MASTER_PORT=65535 is torchrun's store and there is no next port: set NANOVLM_MASTER_PORT.");
            (port, portVariable) = (port + 1, "MASTER_PORT + 1 (torchrun's store holds MASTER_PORT)");
        }
        return new TcpRendezvousOptions(host, port, launch.Rank, launch.WorldSize)
        {
            RunId = get("TORCHELASTIC_RUN_ID") ?? get("NANOVLM_RUN_ID") ?? "",
            Timeout = timeout,
            PortVariable = portVariable,
        };
    }

    /// <summary>Where <see cref="MasterPort"/> came from, for messages: "MASTER_PORT", or what replaced it.</summary>
    public string PortVariable { get; init; } = "MASTER_PORT";

    private static int Port(string name, string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535 ? port
            : throw new InvalidOperationException($"{name}='{text}' is not a port number (1-65535).");

    /// <summary>"MASTER_ADDR:MASTER_PORT" as given, for messages.</summary>
    public string MasterEndpoint => MasterHost.Contains(':') ? $"[{MasterHost}]:{MasterPort}" : $"{MasterHost}:{MasterPort}";
}
