using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>A job of the data-parallel test host started with MPICH's <c>mpiexec</c>, its output collected line by line.</summary>
internal sealed class MpiJob : IRankJob
{
    public const string NoMpiexec = "MPICH's mpiexec is not installed (apt-get install mpich; .ci/run installs it)";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public static string? Mpiexec { get; } = new[] { "/usr/bin/mpiexec.mpich", "/usr/bin/mpiexec" }.FirstOrDefault(File.Exists);

    public static string Host { get; } = typeof(MpiJob).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "DataParallelHost").Value!;

    private MpiJob(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>mpiexec -n <paramref name="ranks"/> dotnet HOST args (or an MPMD line when <paramref name="ranks"/> is 0 and
    /// <paramref name="args"/> holds the ':'-separated parts).</summary>
    public static MpiJob Start(int ranks, params string[] args)
        => new(Mpiexec!, ranks > 0 ? ["-n", ranks.ToString(), "dotnet", Host, .. args] : args);

    /// <summary>The host in this process's shoes: one process, no launcher.</summary>
    public static MpiJob Single(params string[] args) => new("dotnet", [Host, .. args]);

    /// <summary>The host's arguments for one MPMD part: <c>-n 1 dotnet HOST args :</c>.</summary>
    public static string[] Part(bool last, params string[] args) => ["-n", "1", "dotnet", Host, .. args, .. (last ? Array.Empty<string>() : [":"])];

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Output => string.Join('\n', _lines);

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the job to end; false when <paramref name="timeout"/> passed first.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit(); // drains the redirected output
        return true;
    }

    /// <summary>Waits until a line matches; returns it, or null when the job ended or the time passed.</summary>
    public string? WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_lines.FirstOrDefault(match) is { } line) return line;
            if (_process.HasExited) return _lines.FirstOrDefault(match);
            Thread.Sleep(100);
        }
        return null;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
