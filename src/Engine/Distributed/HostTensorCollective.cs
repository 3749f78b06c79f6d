using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// <see cref="IDeviceCollective"/> for CPU tensors over a host <see cref="ICommunicator"/>: the all-reduce runs on the
/// tensor's own memory (no copy), found through its storage (TorchSharp 0.107's <c>Storage.data_ptr()</c>, the
/// storage's first element) plus the tensor's <c>storage_offset()</c>.
/// </summary>
public sealed class HostTensorCollective : IDeviceCollective
{
    private readonly ICommunicator _host;

    /// <summary>Wraps <paramref name="host"/> (the caller keeps ownership).</summary>
    /// <param name="host">The ranks.</param>
    public HostTensorCollective(ICommunicator host) => _host = host ?? throw new ArgumentNullException(nameof(host));

    /// <inheritdoc/>
    public int Rank => _host.Rank;

    /// <inheritdoc/>
    public int Size => _host.Size;

    /// <inheritdoc/>
    public string Description => $"{_host.GetType().Name} on CPU tensors";

    /// <inheritdoc/>
    public void AllReduceSum(Tensor values) => _host.AllReduce(Values(values), ReduceOperation.Sum);

    /// <inheritdoc/>
    public void Synchronize() { }

    /// <inheritdoc/>
    public void Dispose() { }

    /// <summary>The memory of a contiguous float32 CPU tensor (a view's own elements, not its whole storage).</summary>
    /// <param name="t">The tensor.</param>
    /// <returns>Its elements.</returns>
    /// <exception cref="ArgumentException">Not a contiguous float32 CPU tensor.</exception>
    public static unsafe Span<float> Values(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous())
            throw new ArgumentException($"Expected a contiguous float32 CPU tensor, got {t.dtype} on {t.device} (contiguous: {t.is_contiguous()}).", nameof(t));
        return new Span<float>((void*)DataPointer(t), checked((int)t.numel()));
    }

    /// <summary>The address of the tensor's first element: its storage's data pointer plus its storage offset.</summary>
    /// <param name="t">The tensor (any device; on CUDA the address is device memory).</param>
    /// <returns>The address.</returns>
    public static nint DataPointer(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.numel() == 0) return 0;
        // storage<T>() holds a same-dtype alias of the tensor (a new handle, same memory): the scope frees the handle.
        using var scope = NewDisposeScope();
        nint storage = t.dtype switch
        {
            ScalarType.Float32 => t.storage<float>().data_ptr(),
            ScalarType.Float64 => t.storage<double>().data_ptr(),
            _ => throw new ArgumentException($"DataPointer supports float32 and float64 tensors, not {t.dtype}.", nameof(t)),
        };
        return storage + (nint)(t.storage_offset() * t.ElementSize);
    }
}
