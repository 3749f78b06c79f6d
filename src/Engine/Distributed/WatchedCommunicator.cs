using System.Diagnostics;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// A communicator whose collectives may not wait longer than a timeout: a rank that hangs (or a peer the launcher
/// did not notice dying) would otherwise keep every other rank blocked forever. A watchdog thread checks the
/// collective in progress; past the timeout it prints which rank gave up on what and ends the process with exit code
/// <see cref="TimeoutExitCode"/>, and the MPI launcher then ends the rest of the job. nanoVLM's process group uses a
/// 30-minute timeout; so does this by default.
/// </summary>
public sealed class WatchedCommunicator : ICommunicator
{
    /// <summary>The exit code of a rank whose collective timed out.</summary>
    public const int TimeoutExitCode = 75;

    private readonly ICommunicator _inner;
    private readonly TimeSpan _timeout;
    private readonly TextWriter _error;
    private readonly Thread _watchdog;
    private readonly CancellationTokenSource _stop = new();
    private long _startedAt; // Stopwatch timestamp of the collective in progress, 0 when none
    private string _what = "";

    /// <summary>Watches <paramref name="inner"/>'s collectives.</summary>
    /// <param name="inner">The communicator.</param>
    /// <param name="timeout">Longest wait of one collective.</param>
    /// <param name="error">Where the timeout is reported (stderr).</param>
    public WatchedCommunicator(ICommunicator inner, TimeSpan timeout, TextWriter error)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeout = timeout;
        _error = error ?? throw new ArgumentNullException(nameof(error));
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "collective watchdog" };
        _watchdog.Start();
    }

    /// <inheritdoc/>
    public int Rank => _inner.Rank;

    /// <inheritdoc/>
    public int Size => _inner.Size;

    /// <summary>What the next collectives are for, named in a timeout report (e.g. "step 12: gradient all-reduce").</summary>
    public string Phase { get; set; } = "";

    /// <inheritdoc/>
    public void AllReduce(Span<float> values, ReduceOperation operation)
    {
        Begin($"all-reduce ({operation}) of {values.Length} floats");
        try { _inner.AllReduce(values, operation); } finally { End(); }
    }

    /// <inheritdoc/>
    public void AllReduce(Span<double> values, ReduceOperation operation)
    {
        Begin($"all-reduce ({operation}) of {values.Length} doubles");
        try { _inner.AllReduce(values, operation); } finally { End(); }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> bytes, int root)
    {
        Begin($"broadcast of {bytes.Length} bytes from rank {root}");
        try { _inner.Broadcast(bytes, root); } finally { End(); }
    }

    /// <inheritdoc/>
    public void Abort(int exitCode) => _inner.Abort(exitCode);

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        _watchdog.Join();
        _stop.Dispose();
        _inner.Dispose();
    }

    private void Begin(string what)
    {
        Volatile.Write(ref _what, Phase.Length == 0 ? what : $"{Phase}: {what}");
        Volatile.Write(ref _startedAt, Stopwatch.GetTimestamp());
    }

    private void End() => Volatile.Write(ref _startedAt, 0);

    private void Watch()
    {
        var poll = TimeSpan.FromMilliseconds(Math.Clamp(_timeout.TotalMilliseconds / 10, 50, 5000));
        while (!_stop.Token.WaitHandle.WaitOne(poll))
        {
            long started = Volatile.Read(ref _startedAt);
            if (started == 0 || Stopwatch.GetElapsedTime(started) < _timeout) continue;
            _error.WriteLine($"error: rank {Rank} of {Size} (pid {Environment.ProcessId}): {Volatile.Read(ref _what)} has waited " +
                $"{Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s for the other ranks (timeout {_timeout.TotalSeconds:F0} s): " +
                "another rank hangs or died. Ending the job.");
            _error.Flush();
            LibC.Exit(TimeoutExitCode); // the main thread is blocked inside MPI: leave without managed shutdown
        }
    }
}
