using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// A sum all-reduce over tensors where they live (the gradient buckets of <see cref="DeviceGradientReducer"/>):
/// NCCL on CUDA (<see cref="NcclCommunicator"/>), or the host communicator on the tensors' own memory for CPU tensors
/// (<see cref="HostTensorCollective"/>, which lets the device bucket code run and be compared on the CPU).
/// Calls may be asynchronous (NCCL queues its kernel on the stream libtorch uses); <see cref="Synchronize"/> waits.
/// </summary>
public interface IDeviceCollective : IDisposable
{
    /// <summary>This process's rank.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int Size { get; }

    /// <summary>What carries the collective, for the log (e.g. "NCCL 2.27.3 from libtorch_cuda.so").</summary>
    string Description { get; }

    /// <summary>Sums <paramref name="values"/> over the ranks, in place.</summary>
    /// <param name="values">A contiguous float32 tensor on this collective's device.</param>
    void AllReduceSum(Tensor values);

    /// <summary>Waits until every issued all-reduce is done; throws if one failed asynchronously.</summary>
    void Synchronize();
}
