namespace NanoVlm.Engine.Distributed;

/// <summary>One rank of a <see cref="TcpCommunicator"/> job as the rendezvous learned it: enough to name it in an error
/// and to reach its ring port.</summary>
/// <param name="Rank">Its rank.</param>
/// <param name="Pid">Its process id.</param>
/// <param name="Host">Its machine's name.</param>
/// <param name="Address">The IP address rank 0 saw it connect from; empty when that is rank 0's own machine (the peer is
/// then reached at the address of rank 0).</param>
/// <param name="RingPort">The port its ring listener accepts its predecessor on.</param>
internal sealed record TcpPeer(int Rank, int Pid, string Host, string Address, int RingPort)
{
    /// <summary>E.g. "rank 1 (pid 1234 on node3)".</summary>
    public override string ToString() => $"rank {Rank} (pid {Pid} on {Host})";
}
