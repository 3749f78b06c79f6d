using System.Net.Sockets;
using System.Text;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// The control links of a <see cref="TcpCommunicator"/> job, a star around rank 0 kept open beside the ring: a reader
/// thread per link notices a peer that dies (its connection closes without a goodbye) or ends the job after an error
/// (an abort message), whichever ring position it has. Rank 0 relays every such failure to all ranks, so that each
/// rank learns which rank failed, not only that its ring neighbour went away. The first failure is kept and reported
/// to the owner, which then unblocks its collectives.
/// </summary>
internal sealed class TcpControl : IDisposable
{
    private const byte Abort = (byte)'A', Goodbye = (byte)'B';
    private readonly int _rank;
    private readonly Socket?[] _links;
    private readonly TcpPeer[] _peers;
    private readonly Action<string> _onFailure;
    private readonly Lock _send = new();
    private readonly bool[] _saidGoodbye;
    private readonly List<Thread> _readers = [];
    private volatile bool _closing;
    private string? _failure;

    /// <summary>Starts reading <paramref name="links"/> (by rank; null where there is none).</summary>
    public TcpControl(int rank, Socket?[] links, TcpPeer[] peers, Action<string> onFailure)
    {
        _rank = rank;
        _links = links;
        _peers = peers;
        _onFailure = onFailure;
        _saidGoodbye = new bool[links.Length];
        for (int r = 0; r < links.Length; r++)
        {
            if (links[r] is null) continue;
            int peer = r;
            var reader = new Thread(() => Read(peer)) { IsBackground = true, Name = $"control link to rank {peer}" };
            _readers.Add(reader);
            reader.Start();
        }
    }

    /// <summary>The first failure of the job this rank learned of (null while there is none).</summary>
    public string? Failure => Volatile.Read(ref _failure);

    /// <summary>Records a failure (the first one wins) and makes it known: rank 0 tells every rank but
    /// <paramref name="origin"/>, a rank that failed itself tells rank 0.</summary>
    /// <param name="reason">The error, naming the rank that failed.</param>
    /// <param name="origin">The rank it came from (this rank's when it failed itself).</param>
    public void Fail(string reason, int origin)
    {
        lock (_send)
        {
            if (_failure is not null) return;
            Volatile.Write(ref _failure, reason);
            byte[] message = [Abort, .. Encoding.UTF8.GetBytes(reason)];
            for (int r = 0; r < _links.Length; r++)
                if (_links[r] is { } link && r != origin && (_rank == 0 || origin == _rank))
                    try { TcpWire.SendFrame(link, message); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        _onFailure(reason);
    }

    /// <summary>Says goodbye (a normal end: the peers' readers then take the closed connection for what it is) and
    /// closes the links. Rank 0 waits briefly for the others to close first, so that MASTER_PORT is free again at once.</summary>
    public void Dispose()
    {
        lock (_send)
        {
            _closing = true;
            foreach (var link in _links)
                if (link is not null)
                    try { TcpWire.SendFrame(link, [Goodbye]); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        if (_rank == 0)
            foreach (var reader in _readers) reader.Join(TimeSpan.FromSeconds(5));
        foreach (var link in _links) TcpWire.Close(link);
        foreach (var reader in _readers) reader.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Drops the links without a goodbye, as a process that dies does (for tests of the failure path).</summary>
    internal void Sever()
    {
        _closing = true;
        foreach (var link in _links) TcpWire.Close(link);
    }

    private void Read(int peer)
    {
        var link = _links[peer]!;
        while (true)
        {
            byte[]? frame;
            try { frame = TcpWire.ReceiveFrame(link); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidDataException) { frame = null; }
            if (frame is null)
            {
                if (!_closing && !_saidGoodbye[peer])
                    Fail($"{_peers[peer]} died or was killed: its connection to rank {_rank} closed without a goodbye", peer);
                return;
            }
            if (frame is [Goodbye]) _saidGoodbye[peer] = true;
            else if (frame is [Abort, ..]) Fail(Encoding.UTF8.GetString(frame.AsSpan(1)), peer);
        }
    }
}
