using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>The device collective of one process: the sum over one rank is the values themselves, so nothing is
/// called (no NCCL needed); <see cref="Synchronize"/> still waits for the device, so timings mean the same.</summary>
public sealed class SingleDeviceCollective : IDeviceCollective
{
    private readonly Device _device;

    /// <summary>For tensors on <paramref name="device"/>.</summary>
    /// <param name="device">The training device.</param>
    public SingleDeviceCollective(Device device) => _device = device ?? throw new ArgumentNullException(nameof(device));

    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int Size => 1;

    /// <inheritdoc/>
    public string Description => $"one process on {_device}";

    /// <inheritdoc/>
    public void AllReduceSum(Tensor values) => ArgumentNullException.ThrowIfNull(values);

    /// <inheritdoc/>
    public void Synchronize()
    {
        if (_device.type == DeviceType.CUDA) cuda.synchronize(_device);
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
