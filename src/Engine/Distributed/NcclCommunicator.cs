using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// <see cref="IDeviceCollective"/> over NCCL for CUDA tensors: one communicator per process, on one GPU, joined with a
/// unique id that rank 0 makes (<c>ncclGetUniqueId</c>) and sends to the others over the host communicator (MPI or
/// any <see cref="ICommunicator"/>). Each all-reduce is queued on CUDA's legacy default stream (stream 0): TorchSharp
/// 0.107 has no stream API, so libtorch's kernels run there too and the all-reduce is ordered after the copies into
/// the bucket and before the copies out, without a host wait.
/// </summary>
public sealed class NcclCommunicator : IDeviceCollective
{
    private readonly NcclNative _nccl;
    private readonly int _device;
    private nint _comm;

    private NcclCommunicator(NcclNative nccl, nint comm, int rank, int size, int device)
    {
        _nccl = nccl;
        _comm = comm;
        Rank = rank;
        Size = size;
        _device = device;
        Description = $"NCCL {nccl.Version()} from {nccl.Library.File} ({nccl.Library.Origin}) on cuda:{device}";
    }

    /// <summary>Joins the ranks of <paramref name="host"/> in an NCCL communicator on GPU <paramref name="cudaDevice"/>
    /// (collective: every rank of <paramref name="host"/> calls it).</summary>
    /// <param name="host">The ranks; carries the unique id (the caller keeps ownership).</param>
    /// <param name="cudaDevice">This rank's GPU index.</param>
    /// <returns>The communicator.</returns>
    /// <exception cref="DllNotFoundException">No NCCL library (the message names every place tried and what to install).</exception>
    public static NcclCommunicator Create(ICommunicator host, int cudaDevice) => Create(host, cudaDevice, NcclLibrary.Find);

    internal static NcclCommunicator Create(ICommunicator host, int cudaDevice, Func<NcclLibrary.Loaded> findLibrary)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegative(cudaDevice);
        // Every rank looks for NCCL first: a rank without it fails here, before the others wait in the id broadcast
        // (the launcher or the watched host communicator then ends the job).
        var nccl = NcclNative.Bind(findLibrary());
        nccl.SetCudaDevice(cudaDevice);
        var id = ShareUniqueId(host, nccl.GetUniqueId);
        nint comm = nccl.CommInitRank(host.Size, id, host.Rank);
        return new NcclCommunicator(nccl, comm, host.Rank, host.Size, cudaDevice);
    }

    /// <summary>Rank 0's unique id on every rank: made by <paramref name="create"/> on rank 0 only, broadcast over
    /// <paramref name="host"/>.</summary>
    internal static unsafe NcclUniqueId ShareUniqueId(ICommunicator host, Func<NcclUniqueId> create)
    {
        NcclUniqueId id = host.Rank == 0 ? create() : default;
        host.Broadcast(new Span<byte>(id.Internal, NcclUniqueId.Bytes), 0);
        return id;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public void AllReduceSum(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_comm == 0, this);
        if (values.device_type != DeviceType.CUDA || values.device_index != _device || values.dtype != ScalarType.Float32 || !values.is_contiguous())
            throw new ArgumentException($"NCCL all-reduce expects a contiguous float32 tensor on cuda:{_device}, got {values.dtype} on {values.device}.", nameof(values));
        if (values.numel() == 0) return;
        _nccl.SetCudaDevice(_device);
        _nccl.AllReduceSumFloat32InPlace(HostTensorCollective.DataPointer(values), values.numel(), _comm);
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_comm == 0, this);
        cuda.synchronize(new Device(DeviceType.CUDA, _device));
        int error = _nccl.CommGetAsyncError(_comm);
        if (error != NcclNative.Success && error != NcclNative.InProgress)
            throw new InvalidOperationException($"NCCL all-reduce failed on rank {Rank} of {Size}: {_nccl.Describe(error)}.");
    }

    /// <summary>Frees the communicator with <c>ncclCommAbort</c>, which is local: <c>ncclCommDestroy</c> finalizes
    /// first (flushes and, in recent NCCL, coordinates the proxy's shutdown), which can wait forever for a rank that
    /// failed, and the trainer is disposed on the failure path too, before the job is aborted. After the step's
    /// <see cref="Synchronize"/> nothing is pending, so aborting loses nothing (PyTorch's ProcessGroupNCCL destructor
    /// aborts its communicators for the same reason).</summary>
    public void Dispose()
    {
        if (_comm == 0) return;
        nint comm = _comm;
        _comm = 0;
        _nccl.CommAbort(comm);
    }
}
