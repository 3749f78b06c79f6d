using System.Collections.Concurrent;
using System.Diagnostics;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>A job of the data-parallel test host started torchrun-style: one process per rank with <c>RANK</c>,
/// <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>=127.0.0.1 and a free <c>MASTER_PORT</c>, no MPI launcher.</summary>
internal sealed class TcpJob : IRankJob
{
    private readonly Process[] _ranks;
    private readonly ConcurrentQueue<string> _lines = new();

    private TcpJob(int size, Func<int, string[]> args)
    {
        int port = TcpRanks.FreePort();
        _ranks = new Process[size];
        for (int rank = 0; rank < size; rank++)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(MpiJob.Host);
            foreach (var a in args(rank)) start.ArgumentList.Add(a);
            foreach (var name in new[] { "PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_SIZE" }) start.Environment.Remove(name);
            start.Environment["RANK"] = rank.ToString();
            start.Environment["LOCAL_RANK"] = rank.ToString();
            start.Environment["WORLD_SIZE"] = size.ToString();
            start.Environment["LOCAL_WORLD_SIZE"] = size.ToString();
            start.Environment["MASTER_ADDR"] = "127.0.0.1";
            start.Environment["MASTER_PORT"] = port.ToString();
            var p = new Process { StartInfo = start };
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _ranks[rank] = p;
        }
    }

    /// <summary>Starts <paramref name="size"/> ranks, each with <paramref name="args"/>.</summary>
    public static TcpJob Start(int size, params string[] args) => new(size, _ => args);

    /// <summary>Starts <paramref name="size"/> ranks with per-rank arguments.</summary>
    public static TcpJob Start(int size, Func<int, string[]> args) => new(size, args);

    /// <summary>The process id of <paramref name="rank"/>.</summary>
    public int Pid(int rank) => _ranks[rank].Id;

    public string Output => string.Join('\n', _lines);

    public int ExitCode => _ranks.Select(p => p.ExitCode).FirstOrDefault(c => c != 0);

    /// <summary>The exit code of <paramref name="rank"/> (after it ended).</summary>
    public int ExitCodeOf(int rank) => _ranks[rank].ExitCode;

    public bool WaitForExit(TimeSpan timeout) => WaitForExit(timeout, Enumerable.Range(0, _ranks.Length));

    /// <summary>Waits for <paramref name="ranks"/> to end; false when <paramref name="timeout"/> passed first.</summary>
    public bool WaitForExit(TimeSpan timeout, IEnumerable<int> ranks)
    {
        var clock = Stopwatch.StartNew();
        foreach (int r in ranks)
        {
            var left = timeout - clock.Elapsed;
            if (left < TimeSpan.Zero || !_ranks[r].WaitForExit(left)) return false;
            _ranks[r].WaitForExit(); // drains the redirected output
        }
        return true;
    }

    public string? WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_lines.FirstOrDefault(match) is { } line) return line;
            if (_ranks.All(p => p.HasExited)) return _lines.FirstOrDefault(match);
            Thread.Sleep(100);
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var p in _ranks)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
    }
}
