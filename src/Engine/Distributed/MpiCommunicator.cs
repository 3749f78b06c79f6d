namespace NanoVlm.Engine.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over MPI_COMM_WORLD of MPICH (bound directly, see <c>MpiNative</c>): one instance per
/// process, created after the launcher started the process (<c>mpiexec -n N</c>), used from the thread that created
/// it (MPI_THREAD_FUNNELED). Errors of MPI calls are returned, not fatal, and surface as exceptions naming the call.
/// When a rank dies, MPICH's launcher ends the other ranks of the job.
/// </summary>
public sealed class MpiCommunicator : ICommunicator
{
    private static int s_created;
    private bool _finalized;

    /// <summary>Initialises MPI (once per process) and joins MPI_COMM_WORLD.</summary>
    /// <exception cref="DllNotFoundException">No MPICH library.</exception>
    /// <exception cref="InvalidOperationException">MPI is already initialised or failed to initialise.</exception>
    public MpiCommunicator()
    {
        if (Interlocked.Exchange(ref s_created, 1) != 0)
            throw new InvalidOperationException("MPI can be initialised once per process; an MpiCommunicator already exists.");
        // UCX (MPICH's transport on Debian) turns SIGSEGV/SIGBUS/SIGILL/SIGFPE into a backtrace and an abort by
        // default; .NET raises NullReferenceException and friends from those signals, so UCX must leave them alone. UCX
        // reads this when its library loads, so it is set before MPICH (which links UCX) is loaded.
        LibC.SetEnv("UCX_ERROR_SIGNALS", "", 0);
        MpiNative.EnsureLoaded();
        Check(MpiNative.Initialized(out int already), "MPI_Initialized");
        if (already != 0) throw new InvalidOperationException("MPI was initialised by someone else in this process.");
        Check(MpiNative.InitThread(0, 0, MpiNative.ThreadFunneled, out _), "MPI_Init_thread");
        Check(MpiNative.CommSetErrhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
        Check(MpiNative.CommRank(MpiNative.CommWorld, out int rank), "MPI_Comm_rank");
        Check(MpiNative.CommSize(MpiNative.CommWorld, out int size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public unsafe void AllReduce(Span<float> values, ReduceOperation operation)
    {
        fixed (float* p = values)
            Check(MpiNative.Allreduce(MpiNative.InPlace, (nint)p, values.Length, MpiNative.Float, Op(operation), MpiNative.CommWorld), "MPI_Allreduce(float)");
    }

    /// <inheritdoc/>
    public unsafe void AllReduce(Span<double> values, ReduceOperation operation)
    {
        fixed (double* p = values)
            Check(MpiNative.Allreduce(MpiNative.InPlace, (nint)p, values.Length, MpiNative.Double, Op(operation), MpiNative.CommWorld), "MPI_Allreduce(double)");
    }

    /// <inheritdoc/>
    public unsafe void Broadcast(Span<byte> bytes, int root)
    {
        fixed (byte* p = bytes)
            Check(MpiNative.Bcast((nint)p, bytes.Length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void Abort(int exitCode) => MpiNative.Abort(MpiNative.CommWorld, exitCode);

    /// <summary>Finalises MPI (every rank must; a rank that leaves without it makes the launcher end the job).</summary>
    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        MpiNative.Finalize();
    }

    private static int Op(ReduceOperation o) => o switch
    {
        ReduceOperation.Sum => MpiNative.OpSum,
        ReduceOperation.Min => MpiNative.OpMin,
        ReduceOperation.Max => MpiNative.OpMax,
        _ => throw new ArgumentOutOfRangeException(nameof(o), o, null),
    };

    private static void Check(int code, string call)
    {
        if (code != MpiNative.Success) throw new InvalidOperationException($"{call} failed: {MpiNative.Describe(code)}");
    }
}
