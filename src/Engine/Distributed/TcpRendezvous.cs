using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NanoVlm.Engine.Distributed;

/// <summary>The sockets a rank of a <see cref="TcpCommunicator"/> job holds after the rendezvous.</summary>
/// <param name="Next">To rank + 1 (mod N), the ring's outgoing link.</param>
/// <param name="Previous">From rank − 1 (mod N), the ring's incoming link.</param>
/// <param name="Control">By rank: rank 0 holds one to every other rank, the others one to rank 0 (index 0); null elsewhere.</param>
/// <param name="Peers">Every rank, by rank.</param>
internal sealed record TcpLinks(Socket? Next, Socket? Previous, Socket?[] Control, TcpPeer[] Peers);

/// <summary>
/// How the ranks meet (torchrun's static rendezvous, by hand): rank 0 listens on <c>MASTER_PORT</c>; every other rank
/// connects (retrying until the timeout: rank 0 may start later) and says who it is (world size, rank, run id, pid,
/// host, the port of its ring listener); rank 0 checks that the world sizes and run ids agree and that no rank comes
/// twice, then sends every rank the table of all ranks (or the error, to everyone). Each rank then connects to its
/// successor's ring listener and accepts its predecessor. The connections to rank 0 stay open as control links.
/// </summary>
internal static class TcpRendezvous
{
    private const string HelloMagic = "nanovlm-tcp-rendezvous/1", RingMagic = "nanovlm-tcp-ring/1";

    /// <summary>Meets the other ranks.</summary>
    /// <exception cref="IOException">A socket error: the port is in use, rank 0 cannot be reached, a rank did not come.</exception>
    /// <exception cref="InvalidOperationException">The ranks disagree (world size, run id, a rank twice).</exception>
    public static TcpLinks Run(TcpRendezvousOptions o)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(o.WorldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(o.Rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(o.Rank, o.WorldSize);
        var self = new TcpPeer(o.Rank, Environment.ProcessId, Environment.MachineName, "", 0);
        if (o.WorldSize == 1) return new TcpLinks(null, null, [null], [self]);
        var deadline = Stopwatch.StartNew();
        TimeSpan Left() => o.Timeout - deadline.Elapsed;
        using var ring = Listen(0, o, "its ring port");
        self = self with { RingPort = ((IPEndPoint)ring.LocalEndPoint!).Port };
        var control = new Socket?[o.WorldSize];
        try
        {
            TcpPeer[] peers;
            IPAddress master;
            if (o.Rank == 0)
            {
                peers = Accept(o, self, control, Left);
                master = IPAddress.Loopback;
            }
            else
            {
                control[0] = Connect(o, Left);
                master = ((IPEndPoint)control[0]!.RemoteEndPoint!).Address;
                peers = Join(o, self, control[0]!, Left);
            }
            var (next, previous) = Ring(o, peers, master, ring, Left);
            return new TcpLinks(next, previous, control, peers);
        }
        catch (SocketException e)
        {
            // A connection that broke mid-handshake (the other side failed: see its error).
            foreach (var s in control) TcpWire.Close(s);
            throw new IOException($"rank {o.Rank}: the rendezvous at {o.MasterEndpoint} broke off ({e.Message}); see the other ranks' errors.", e);
        }
        catch
        {
            foreach (var s in control) TcpWire.Close(s);
            throw;
        }
    }

    // Rank 0: accepts the other ranks on MASTER_PORT and answers each with the table (or everyone with the error).
    private static TcpPeer[] Accept(TcpRendezvousOptions o, TcpPeer self, Socket?[] control, Func<TimeSpan> left)
    {
        var peers = new TcpPeer?[o.WorldSize];
        peers[0] = self;
        using var listener = Listen(o.MasterPort, o, $"{o.PortVariable} (MASTER_ADDR:port = {o.MasterEndpoint})");
        var strangers = new List<Socket>();
        try
        {
            for (int joined = 1; joined < o.WorldSize;)
            {
                Socket socket;
                try
                {
                    using var cancel = new CancellationTokenSource(Positive(left()));
                    socket = listener.AcceptAsync(cancel.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    var missing = Enumerable.Range(0, o.WorldSize).Where(r => peers[r] is null);
                    throw new IOException($"rank 0 waited {o.Timeout.TotalSeconds:F0} s at {o.MasterEndpoint} for rank(s) {string.Join(", ", missing)} " +
                        $"of {o.WorldSize}, which did not connect: were they started, with MASTER_ADDR and {o.PortVariable} reaching this machine's port {o.MasterPort}?");
                }
                socket.NoDelay = true;
                strangers.Add(socket);
                string from = socket.RemoteEndPoint?.ToString() ?? "?";
                TcpPeer peer;
                try
                {
                    socket.ReceiveTimeout = (int)Math.Clamp(left().TotalMilliseconds, 1, 30_000);
                    var hello = TcpWire.ReceiveFrame(socket) ?? throw new InvalidDataException("it closed the connection");
                    peer = ReadHello(hello, o, from, out int worldSize, out string runId);
                    if (worldSize != o.WorldSize)
                        throw new InvalidOperationException($"{peer} was started with WORLD_SIZE={worldSize}, rank 0 with WORLD_SIZE={o.WorldSize}: every rank needs the same WORLD_SIZE.");
                    if (runId != o.RunId)
                        throw new InvalidOperationException($"{peer} belongs to run '{runId}', rank 0 to run '{o.RunId}' (TORCHELASTIC_RUN_ID / NANOVLM_RUN_ID): two jobs share {o.MasterEndpoint}.");
                    if (peer.Rank is < 1 || peer.Rank >= o.WorldSize)
                        throw new InvalidOperationException($"a process from {from} (pid {peer.Pid} on {peer.Host}) claims RANK={peer.Rank}, outside [1, {o.WorldSize}) (rank 0 is this process, pid {self.Pid} on {self.Host}): every rank needs its own RANK.");
                    if (peers[peer.Rank] is { } first)
                        throw new InvalidOperationException($"two processes claim RANK={peer.Rank}: {first} and pid {peer.Pid} on {peer.Host}: every rank needs its own RANK.");
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or SocketException)
                {
                    throw new IOException($"a connection to {o.MasterEndpoint} from {from} is not a nanovlm rank ({e.Message}): another program or job uses MASTER_PORT {o.MasterPort}?", e);
                }
                socket.ReceiveTimeout = 0;
                peers[peer.Rank] = peer;
                control[peer.Rank] = socket;
                strangers.Remove(socket);
                joined++;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            var refusal = TcpWire.Build(w => { w.Write(false); w.Write(e.Message); });
            foreach (var s in control.Concat(strangers))
                if (s is not null)
                    try { TcpWire.SendFrame(s, refusal); } catch (SocketException) { }
            foreach (var s in strangers) TcpWire.Close(s);
            throw;
        }
        var table = TcpWire.Build(w =>
        {
            w.Write(true);
            foreach (var p in peers) { w.Write(p!.Pid); w.Write(p.Host); w.Write(p.Address); w.Write(p.RingPort); }
        });
        foreach (var s in control) if (s is not null) TcpWire.SendFrame(s, table);
        return peers!;
    }

    // Any other rank: says who it is to rank 0 and reads the table back.
    private static TcpPeer[] Join(TcpRendezvousOptions o, TcpPeer self, Socket socket, Func<TimeSpan> left)
    {
        TcpWire.SendFrame(socket, TcpWire.Build(w =>
        {
            w.Write(HelloMagic); w.Write(o.WorldSize); w.Write(o.Rank); w.Write(o.RunId); w.Write(self.Pid); w.Write(self.Host); w.Write(self.RingPort);
        }));
        byte[]? reply;
        try
        {
            socket.ReceiveTimeout = (int)Math.Clamp(left().TotalMilliseconds, 1, int.MaxValue);
            reply = TcpWire.ReceiveFrame(socket);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            throw new IOException($"rank {o.Rank} waited {o.Timeout.TotalSeconds:F0} s at {o.MasterEndpoint} for the other ranks to join: some rank was not started?");
        }
        socket.ReceiveTimeout = 0;
        if (reply is null) throw new IOException($"rank 0 at {o.MasterEndpoint} closed the connection during the rendezvous (see rank 0's error).");
        using var r = new BinaryReader(new MemoryStream(reply));
        if (!r.ReadBoolean()) throw new InvalidOperationException($"rank 0 refused the job: {r.ReadString()}");
        var peers = new TcpPeer[o.WorldSize];
        for (int i = 0; i < peers.Length; i++) peers[i] = new TcpPeer(i, r.ReadInt32(), r.ReadString(), r.ReadString(), r.ReadInt32());
        return peers;
    }

    private static TcpPeer ReadHello(byte[] hello, TcpRendezvousOptions o, string from, out int worldSize, out string runId)
    {
        using var r = new BinaryReader(new MemoryStream(hello));
        if (r.ReadString() != HelloMagic) throw new InvalidDataException("a handshake of another protocol");
        worldSize = r.ReadInt32();
        int rank = r.ReadInt32();
        runId = r.ReadString();
        int pid = r.ReadInt32();
        string host = r.ReadString();
        int ringPort = r.ReadInt32();
        var address = IPEndPoint.Parse(from).Address;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        // A rank on rank 0's machine is reached the way its peers reach rank 0 (its loopback address means nothing to
        // a rank on another machine).
        return new TcpPeer(rank, pid, host, IPAddress.IsLoopback(address) ? "" : address.ToString(), ringPort);
    }

    // Rank 1..N-1: connects to MASTER_ADDR:MASTER_PORT, retrying while rank 0 is not (yet) listening.
    private static Socket Connect(TcpRendezvousOptions o, Func<TimeSpan> left)
    {
        IPAddress[] addresses;
        try { addresses = Dns.GetHostAddresses(o.MasterHost); }
        catch (SocketException e) { throw new IOException($"MASTER_ADDR '{o.MasterHost}' cannot be resolved: {e.Message}.", e); }
        if (addresses.Length == 0) throw new IOException($"MASTER_ADDR '{o.MasterHost}' resolves to no address.");
        string last = "";
        while (true)
        {
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    using var cancel = new CancellationTokenSource(Positive(Min(left(), TimeSpan.FromSeconds(10))));
                    socket.ConnectAsync(address, o.MasterPort, cancel.Token).AsTask().GetAwaiter().GetResult();
                    return socket;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    last = e is SocketException s ? $"{address}: {s.Message}" : $"{address}: no answer";
                    socket.Dispose();
                }
            }
            if (left() <= TimeSpan.Zero)
                throw new IOException($"rank {o.Rank} could not connect to rank 0 at MASTER_ADDR:{o.PortVariable} = {o.MasterEndpoint} within " +
                    $"{o.Timeout.TotalSeconds:F0} s (last error: {last}): is rank 0 running, with the same MASTER_ADDR and MASTER_PORT, and the port reachable?");
            Thread.Sleep(Min(left(), TimeSpan.FromMilliseconds(250)));
        }
    }

    // Connects to the successor's ring port, accepts the predecessor on this rank's.
    private static (Socket Next, Socket Previous) Ring(TcpRendezvousOptions o, TcpPeer[] peers, IPAddress master, Socket ring, Func<TimeSpan> left)
    {
        var next = peers[(o.Rank + 1) % o.WorldSize];
        var prev = peers[(o.Rank + o.WorldSize - 1) % o.WorldSize];
        var address = next.Address.Length == 0 ? master : IPAddress.Parse(next.Address);
        var outgoing = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using (var cancel = new CancellationTokenSource(Positive(left())))
                outgoing.ConnectAsync(address, next.RingPort, cancel.Token).AsTask().GetAwaiter().GetResult();
            TcpWire.SendFrame(outgoing, TcpWire.Build(w => { w.Write(RingMagic); w.Write(o.RunId); w.Write(o.Rank); }));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            outgoing.Dispose();
            throw new IOException($"rank {o.Rank} cannot connect to {next} at {address}:{next.RingPort} ({(e is SocketException s ? s.Message : "no answer")}): " +
                "a firewall between the machines? Every rank listens on an ephemeral port for its predecessor.", e);
        }
        try
        {
            using var cancel = new CancellationTokenSource(Positive(left()));
            var incoming = ring.AcceptAsync(cancel.Token).AsTask().GetAwaiter().GetResult();
            incoming.NoDelay = true;
            incoming.ReceiveTimeout = (int)Math.Clamp(left().TotalMilliseconds, 1, 30_000);
            var hello = TcpWire.ReceiveFrame(incoming);
            incoming.ReceiveTimeout = 0;
            using var r = new BinaryReader(new MemoryStream(hello ?? []));
            if (hello is null || r.ReadString() != RingMagic || r.ReadString() != o.RunId || r.ReadInt32() != prev.Rank)
                throw new IOException($"rank {o.Rank}'s ring port was reached by something other than {prev}.");
            return (outgoing, incoming);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or EndOfStreamException or InvalidDataException)
        {
            outgoing.Dispose();
            throw new IOException($"rank {o.Rank} waited in vain for {prev} to connect to its ring port {peers[o.Rank].RingPort}: a firewall between the machines?", e);
        }
    }

    // A listening socket on every interface (IPv6 and IPv4 where the machine has IPv6).
    private static Socket Listen(int port, TcpRendezvousOptions o, string what)
    {
        Socket socket;
        try
        {
            socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        }
        catch (SocketException)
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        }
        try
        {
            socket.Bind(new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, port));
            socket.Listen(o.WorldSize);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw Failure(e, port, o, what);
        }
    }

    private static IOException Failure(SocketException e, int port, TcpRendezvousOptions o, string what) => e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => new IOException($"rank {o.Rank} cannot listen on port {port}, {what}: the port is in use " +
            "(another job, or torchrun's own store: see docs/distributed.md); pick another MASTER_PORT (or set NANOVLM_MASTER_PORT).", e),
        SocketError.AccessDenied => new IOException($"rank {o.Rank} may not listen on port {port}, {what}: ports below 1024 need privileges; pick another MASTER_PORT.", e),
        _ => new IOException($"rank {o.Rank} cannot listen on port {port}, {what}: {e.Message}", e),
    };

    private static TimeSpan Positive(TimeSpan t) => t > TimeSpan.FromMilliseconds(1) ? t : TimeSpan.FromMilliseconds(1);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
