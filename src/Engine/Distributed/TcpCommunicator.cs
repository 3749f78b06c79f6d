using System.Buffers.Binary;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over plain TCP, for ranks started torchrun-style (<c>RANK</c>, <c>WORLD_SIZE</c>,
/// <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>) without an MPI launcher. The ranks meet at <c>MASTER_ADDR:MASTER_PORT</c>
/// (<see cref="TcpRendezvous"/>) and form a ring. The all-reduce is the ring algorithm (Baidu's, NCCL's and Gloo's
/// ring): a reduce-scatter in which each of the N chunks travels once round the ring and is combined at each rank in a
/// fixed order, then an all-gather that passes the finished chunks round unchanged, so every rank ends with the same
/// bits; each rank sends and receives 2(N−1)/N of the data. Every collective starts with a header (sequence number,
/// kind, length) that the receiver checks, so ranks whose calls diverged fail with an error instead of mixing data.
/// A peer that dies or ends the job after an error is reported by <see cref="TcpControl"/> and fails every rank's
/// current and next collective with an error naming it; a peer that hangs is left to <see cref="WatchedCommunicator"/>.
/// Blocking, used from one thread.
/// </summary>
public sealed class TcpCommunicator : ICommunicator
{
    /// <summary>The exit code of a rank that ends itself because a peer failed while it was not in a collective.</summary>
    public const int PeerFailureExitCode = 76;

    private const int HeaderBytes = 24;
    private const int ChunkBytes = 4 << 20; // the most one ring step sends: bounds the buffers, not the collective
    private const int KindFloat = 1, KindDouble = 2, KindBroadcast = 3;

    private readonly Socket? _next, _previous;
    private readonly TcpPeer[] _peers;
    private readonly TcpControl? _control;
    private readonly TextWriter? _error;
    private readonly TimeSpan? _exitAfterPeerFailure;
    private readonly byte[] _send, _receive;
    private long _sequence;
    private int _ended; // 1 after Dispose or Abort
    private bool _disposed;
    private string? _ownFailure;

    private TcpCommunicator(TcpRendezvousOptions options, TcpLinks links, TextWriter? error, TimeSpan? exitAfterPeerFailure)
    {
        Rank = options.Rank;
        Size = options.WorldSize;
        (_next, _previous, _peers) = (links.Next, links.Previous, links.Peers);
        _error = error;
        _exitAfterPeerFailure = exitAfterPeerFailure;
        _send = Size > 1 ? new byte[HeaderBytes + ChunkBytes] : [];
        _receive = Size > 1 ? new byte[ChunkBytes] : [];
        if (Size > 1) _control = new TcpControl(Rank, links.Control, links.Peers, OnPeerFailure);
    }

    /// <summary>Meets the other ranks (see <see cref="TcpRendezvous"/>) and forms the ring.</summary>
    /// <param name="options">Where to meet, this rank, the world size, the run id, how long to wait.</param>
    /// <param name="error">Where to report a peer's failure noticed outside a collective (stderr), or null.</param>
    /// <param name="exitAfterPeerFailure">When set: a peer's failure that this rank's collectives have not turned into an
    /// exception (the rank is busy elsewhere) within this time ends the process with <see cref="PeerFailureExitCode"/>.</param>
    /// <returns>The communicator.</returns>
    /// <exception cref="IOException">The port is in use, rank 0 cannot be reached, a rank did not come; named.</exception>
    /// <exception cref="InvalidOperationException">The ranks disagree (world size, run id, a rank twice); named.</exception>
    public static TcpCommunicator Connect(TcpRendezvousOptions options, TextWriter? error = null, TimeSpan? exitAfterPeerFailure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TcpCommunicator(options, TcpRendezvous.Run(options), error, exitAfterPeerFailure);
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public void AllReduce(Span<float> values, ReduceOperation operation) => AllReduce(values, operation, KindFloat);

    /// <inheritdoc/>
    public void AllReduce(Span<double> values, ReduceOperation operation) => AllReduce(values, operation, KindDouble);

    /// <inheritdoc/>
    public void Broadcast(Span<byte> bytes, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        if (!Begin(bytes.Length)) return;
        long sequence = ++_sequence;
        var header = Header(sequence, KindBroadcast, root, bytes.Length);
        bool forward = (Rank + 1) % Size != root;
        try
        {
            // Down the ring from the root, in pieces, each forwarded as soon as it arrived.
            if (Rank == root)
            {
                TcpWire.SendAll(_next!, header);
                TcpWire.SendAll(_next!, bytes);
                return;
            }
            Receive(_receive.AsSpan(0, HeaderBytes));
            CheckHeader(_receive.AsSpan(0, HeaderBytes), header);
            if (forward) TcpWire.SendAll(_next!, header);
            for (int done = 0; done < bytes.Length; done += ChunkBytes)
            {
                var piece = bytes.Slice(done, Math.Min(ChunkBytes, bytes.Length - done));
                Receive(piece);
                if (forward) TcpWire.SendAll(_next!, piece);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Broken($"broadcast of {bytes.Length} bytes from rank {root}", e);
        }
    }

    /// <summary>Tells every rank that this one ends the job (rank 0 relays it) and exits the process with
    /// <paramref name="exitCode"/>; each other rank fails in its current or next collective naming this rank.</summary>
    /// <param name="exitCode">The exit code.</param>
    public void Abort(int exitCode)
    {
        Interlocked.Exchange(ref _ended, 1);
        string why = _ownFailure is { } f ? $" after: {f}" : "";
        _control?.Fail($"{_peers[Rank]} ended the job after an error (exit code {exitCode}){why}", Rank);
        _error?.Flush();
        Console.Out.Flush();
        Environment.Exit(exitCode);
    }

    /// <summary>Says goodbye to the other ranks and closes the connections (a normal end).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Volatile.Write(ref _ended, 1);
        _control?.Dispose();
        TcpWire.Close(_next);
        TcpWire.Close(_previous);
    }

    /// <summary>Drops every connection without a goodbye, as a process that dies does (for tests of the failure path).</summary>
    internal void Sever()
    {
        Volatile.Write(ref _ended, 1);
        _disposed = true;
        _control?.Sever();
        TcpWire.Close(_next);
        TcpWire.Close(_previous);
    }

    private void AllReduce<T>(Span<T> values, ReduceOperation operation, int kind) where T : unmanaged, INumber<T>
    {
        if (operation is not (ReduceOperation.Sum or ReduceOperation.Min or ReduceOperation.Max))
            throw new ArgumentOutOfRangeException(nameof(operation), operation, null);
        if (!Begin(values.Length)) return;
        var header = Header(++_sequence, kind, (int)operation, values.Length);
        int elementBytes = Marshal.SizeOf<T>(), chunk = ChunkBytes / elementBytes;
        bool first = true;
        try
        {
            // Windows of at most N chunks; within one, chunk c is [c·L/N, (c+1)·L/N) (some may be empty).
            for (long start = 0; start < values.Length; start += (long)chunk * Size)
            {
                var window = values.Slice((int)start, (int)Math.Min(values.Length - start, (long)chunk * Size));
                // Reduce-scatter: at step s rank r sends chunk r−s and adds chunk r−s−1 to what it received; chunk c
                // is thus combined in the order c, c+1, …, c−1 and ends complete on rank c−1.
                for (int s = 0; s < Size - 1; s++)
                {
                    var into = Chunk(window, Rank - s - 1);
                    Combine(Exchange<T>(Chunk(window, Rank - s), into.Length, header, ref first), into, operation);
                }
                // All-gather: the complete chunks go round unchanged.
                for (int s = 0; s < Size - 1; s++)
                {
                    var into = Chunk(window, Rank - s);
                    Exchange<T>(Chunk(window, Rank + 1 - s), into.Length, header, ref first).CopyTo(into);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Broken($"all-reduce ({operation}) of {values.Length} {(kind == KindFloat ? "floats" : "doubles")}", e);
        }
    }

    // Chunk c (mod N) of a window.
    private Span<T> Chunk<T>(Span<T> window, int c)
    {
        c = ((c % Size) + Size) % Size;
        int from = (int)((long)c * window.Length / Size), to = (int)((long)(c + 1) * window.Length / Size);
        return window[from..to];
    }

    // Sends to the successor while receiving from the predecessor (both at once: with every rank sending first, a ring
    // of blocking sends larger than the socket buffers would wait for ever). The first exchange of a collective carries
    // its header.
    private ReadOnlySpan<T> Exchange<T>(ReadOnlySpan<T> outgoing, int incoming, byte[] header, ref bool first) where T : unmanaged
    {
        int offset = first ? HeaderBytes : 0, sendBytes = offset + MemoryMarshal.AsBytes(outgoing).Length;
        int receiveBytes = incoming * Marshal.SizeOf<T>();
        if (first) header.CopyTo(_send, 0);
        MemoryMarshal.AsBytes(outgoing).CopyTo(_send.AsSpan(offset));
        var sending = sendBytes > 0 ? TcpWire.SendAllAsync(_next!, _send.AsMemory(0, sendBytes)) : Task.CompletedTask;
        if (first)
        {
            Receive(_receive.AsSpan(0, HeaderBytes));
            CheckHeader(_receive.AsSpan(0, HeaderBytes), header);
            first = false;
        }
        Receive(_receive.AsSpan(0, receiveBytes));
        sending.GetAwaiter().GetResult();
        return MemoryMarshal.Cast<byte, T>(_receive.AsSpan(0, receiveBytes));
    }

    private static void Combine<T>(ReadOnlySpan<T> received, Span<T> into, ReduceOperation operation) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var a = MemoryMarshal.Cast<T, Vector<T>>(received);
            var b = MemoryMarshal.Cast<T, Vector<T>>(into);
            for (int v = 0; v < a.Length; v++)
                b[v] = operation switch
                {
                    ReduceOperation.Sum => a[v] + b[v],
                    ReduceOperation.Min => Vector.Min(a[v], b[v]),
                    _ => Vector.Max(a[v], b[v]),
                };
            i = a.Length * Vector<T>.Count;
        }
        for (; i < into.Length; i++)
            into[i] = operation switch
            {
                ReduceOperation.Sum => received[i] + into[i],
                ReduceOperation.Min => T.Min(received[i], into[i]),
                _ => T.Max(received[i], into[i]),
            };
    }

    private void Receive(Span<byte> buffer)
    {
        if (!TcpWire.ReceiveExactly(_previous!, buffer)) throw new SocketException((int)SocketError.ConnectionReset);
    }

    // Whether there is anything to do; throws when a peer's failure is already known.
    private bool Begin(int length)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _ended) != 0 && _control?.Failure is null, this);
        if (_control?.Failure is { } failure) throw new IOException(failure);
        return Size > 1 && length > 0;
    }

    private static byte[] Header(long sequence, int kind, int argument, long length)
    {
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteInt64LittleEndian(header, sequence);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), kind);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), argument);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), length);
        return header;
    }

    private void CheckHeader(ReadOnlySpan<byte> received, byte[] expected)
    {
        if (received.SequenceEqual(expected)) return;
        static string Describe(ReadOnlySpan<byte> h)
        {
            int kind = BinaryPrimitives.ReadInt32LittleEndian(h[8..]), argument = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
            long length = BinaryPrimitives.ReadInt64LittleEndian(h[16..]);
            return $"collective #{BinaryPrimitives.ReadInt64LittleEndian(h)}: " + kind switch
            {
                KindFloat => $"all-reduce ({(ReduceOperation)argument}) of {length} floats",
                KindDouble => $"all-reduce ({(ReduceOperation)argument}) of {length} doubles",
                KindBroadcast => $"broadcast of {length} bytes from rank {argument}",
                _ => $"unknown kind {kind}",
            };
        }
        var message = $"the ranks' collectives diverged: {_peers[(Rank + Size - 1) % Size]} is in {Describe(received)}, rank {Rank} in {Describe(expected)}";
        _ownFailure = message;
        throw new InvalidOperationException(message);
    }

    // A ring connection broke: a known failure of the job explains it; otherwise the neighbour went away.
    private IOException Broken(string what, Exception inner)
    {
        // The control links name the rank that failed; their news may trail the ring's by a moment.
        for (int wait = 0; wait < 40 && _control?.Failure is null; wait++) Thread.Sleep(50);
        if (_control?.Failure is { } failure) return new IOException($"{failure} (rank {Rank} was in the {what})", inner);
        var message = $"the connection between rank {Rank} and its ring neighbours {_peers[(Rank + Size - 1) % Size]} / {_peers[(Rank + 1) % Size]} " +
            $"broke during the {what}: one of them died or ended the job";
        _ownFailure = message;
        return new IOException(message, inner);
    }

    // A peer failed (from a control reader thread): unblock this rank's collective in progress, and, when asked, end
    // the process if nothing turns the failure into an error in time.
    private void OnPeerFailure(string reason)
    {
        TcpWire.Close(_next);
        TcpWire.Close(_previous);
        if (_exitAfterPeerFailure is not { } delay) return;
        new Thread(() =>
        {
            Thread.Sleep(delay);
            if (Volatile.Read(ref _ended) != 0) return;
            _error?.WriteLine($"error: rank {Rank} of {Size}: {reason}. Ending this rank.");
            _error?.Flush();
            LibC.Exit(PeerFailureExitCode);
        }) { IsBackground = true, Name = "peer failure exit" }.Start();
    }
}
