using System.Net;
using System.Net.Sockets;
using NanoVlm.Engine.Distributed;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>Ranks of a <see cref="TcpCommunicator"/> job as threads of this process, on a free loopback port.</summary>
internal static class TcpRanks
{
    /// <summary>A port nobody listens on now (bound to port 0 and released).</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public static TcpRendezvousOptions Options(int port, int rank, int size, double timeoutSeconds = 30)
        => new("127.0.0.1", port, rank, size) { RunId = "test", Timeout = TimeSpan.FromSeconds(timeoutSeconds) };

    /// <summary>Runs <paramref name="body"/> on each rank's thread, after it joined; each rank's result or exception.</summary>
    public static (T? Result, Exception? Error)[] Run<T>(IReadOnlyList<TcpRendezvousOptions> ranks, Func<TcpCommunicator, T> body, TimeSpan? limit = null)
    {
        var tasks = ranks.Select(o => Task.Factory.StartNew(() =>
        {
            using var c = TcpCommunicator.Connect(o);
            return body(c);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(tasks.Select(t => t.ContinueWith(_ => { })).ToArray(), limit ?? TimeSpan.FromSeconds(120)),
            "the ranks did not finish in time (a hang)");
        return [.. tasks.Select(t => t.IsFaulted ? (default(T), t.Exception!.InnerException) : (t.Result, (Exception?)null))];
    }

    /// <summary>Every rank's result; fails on any rank's exception.</summary>
    public static T[] RunAll<T>(int size, Func<TcpCommunicator, T> body)
    {
        int port = FreePort();
        var results = Run([.. Enumerable.Range(0, size).Select(r => Options(port, r, size))], body);
        foreach (var (_, error) in results) Assert.Null(error);
        return [.. results.Select(r => r.Result!)];
    }
}
