using System.Buffers.Binary;
using System.Net.Sockets;

namespace NanoVlm.Engine.Distributed;

/// <summary>Blocking socket I/O of whole buffers and length-prefixed frames, for the rendezvous and control messages of
/// <see cref="TcpCommunicator"/> (the bulk data of the collectives is sent raw: both sides know its length).</summary>
internal static class TcpWire
{
    /// <summary>Largest control frame: a handshake or an error text; a longer length prefix is not one of ours.</summary>
    public const int MaxFrameBytes = 1 << 20;

    /// <summary>Receives exactly <paramref name="buffer"/>.Length bytes; false when the peer closed the connection first.</summary>
    public static bool ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = socket.Receive(buffer[done..]);
            if (n == 0) return false;
            done += n;
        }
        return true;
    }

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0) data = data[socket.Send(data)..];
    }

    /// <summary>Sends all of <paramref name="data"/> without blocking the caller (the ring sends while it receives).</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0) data = data[await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false)..];
    }

    /// <summary>Sends one frame: a 4-byte little-endian length, then <paramref name="payload"/>, in one write.</summary>
    public static void SendFrame(Socket socket, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        payload.CopyTo(frame.AsSpan(4));
        SendAll(socket, frame);
    }

    /// <summary>Receives one frame; null when the peer closed the connection before or inside it.</summary>
    /// <exception cref="InvalidDataException">The length prefix is not one of ours.</exception>
    public static byte[]? ReceiveFrame(Socket socket)
    {
        Span<byte> length = stackalloc byte[4];
        if (!ReceiveExactly(socket, length)) return null;
        int n = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (n < 0 || n > MaxFrameBytes) throw new InvalidDataException($"a frame of {n} bytes (at most {MaxFrameBytes} expected)");
        var payload = new byte[n];
        return ReceiveExactly(socket, payload) ? payload : null;
    }

    /// <summary>A frame's payload written with a <see cref="BinaryWriter"/>.</summary>
    public static byte[] Build(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream)) write(writer);
        return stream.ToArray();
    }

    /// <summary>Closes a socket, ignoring errors (used on error paths and at the end).</summary>
    public static void Close(Socket? socket)
    {
        if (socket is null) return;
        try { socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }
}
