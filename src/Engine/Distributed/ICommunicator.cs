namespace NanoVlm.Engine.Distributed;

/// <summary>How values are combined across ranks.</summary>
public enum ReduceOperation
{
    /// <summary>The sum.</summary>
    Sum,

    /// <summary>The minimum.</summary>
    Min,

    /// <summary>The maximum.</summary>
    Max,
}

/// <summary>
/// The collectives data-parallel training needs, over host memory, blocking, called by every rank in the same order
/// (as MPI requires). Implemented over MPI (<see cref="MpiCommunicator"/>) and for a single process
/// (<see cref="SingleProcessCommunicator"/>).
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0-based.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int Size { get; }

    /// <summary>Combines <paramref name="values"/> element-wise over all ranks, in place.</summary>
    /// <param name="values">This rank's values; the result on return.</param>
    /// <param name="operation">How to combine.</param>
    void AllReduce(Span<float> values, ReduceOperation operation);

    /// <summary>Combines <paramref name="values"/> element-wise over all ranks, in place.</summary>
    /// <param name="values">This rank's values; the result on return.</param>
    /// <param name="operation">How to combine.</param>
    void AllReduce(Span<double> values, ReduceOperation operation);

    /// <summary>Copies <paramref name="root"/>'s bytes to every rank (all ranks pass the same length).</summary>
    /// <param name="bytes">The root's data; overwritten on the other ranks.</param>
    /// <param name="root">The sending rank.</param>
    void Broadcast(Span<byte> bytes, int root);

    /// <summary>Ends the whole job now with <paramref name="exitCode"/> (every rank exits).</summary>
    /// <param name="exitCode">The exit code.</param>
    void Abort(int exitCode);
}
