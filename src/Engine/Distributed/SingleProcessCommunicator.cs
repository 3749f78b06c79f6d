namespace NanoVlm.Engine.Distributed;

/// <summary>The communicator of a run of one process: every collective leaves the values as they are. Lets the
/// data-parallel code paths (the global-token-mean objective, the gradient buckets) run without a launcher.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int Size => 1;

    /// <inheritdoc/>
    public void AllReduce(Span<float> values, ReduceOperation operation) { }

    /// <inheritdoc/>
    public void AllReduce(Span<double> values, ReduceOperation operation) { }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> bytes, int root) => ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);

    /// <inheritdoc/>
    public void Abort(int exitCode) => Environment.Exit(exitCode);

    /// <inheritdoc/>
    public void Dispose() { }
}
