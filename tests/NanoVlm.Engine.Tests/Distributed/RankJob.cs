namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>A running data-parallel job of the test host, however its ranks were started (<see cref="MpiJob"/>,
/// <see cref="TcpJob"/>), its ranks' output collected line by line.</summary>
internal interface IRankJob : IDisposable
{
    /// <summary>Every rank's output so far.</summary>
    string Output { get; }

    /// <summary>The job's exit code (a TCP job's: the first rank's that is not 0).</summary>
    int ExitCode { get; }

    /// <summary>Waits for the job to end; false when <paramref name="timeout"/> passed first.</summary>
    bool WaitForExit(TimeSpan timeout);

    /// <summary>Waits until a line matches; returns it, or null when the job ended or the time passed.</summary>
    string? WaitForLine(Func<string, bool> match, TimeSpan timeout);
}
