using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Internal;

/// <summary>libtorch's <c>from_blob</c>: a CPU tensor over memory we own (a pinned slab, a memory-mapped file), no copy.</summary>
internal static class NativeTensor
{
    // libLibTorchSharp's export (TorchSharp 0.107): from_blob(data, dims, deleter) with `type` the blob's element type
    // and `dtype` the result's; equal types make a view, not a conversion.
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_new(IntPtr rawArray, Deleter deleter, IntPtr dimensions, int numDimensions, sbyte type,
        sbyte dtype, int deviceType, int deviceIndex, [MarshalAs(UnmanagedType.U1)] bool requiresGrad);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void Deleter(IntPtr data);

    // A deleter must stay reachable until libtorch calls it; it removes itself then.
    private static readonly ConcurrentDictionary<Deleter, bool> s_live = new();

    /// <summary>A tensor of <paramref name="dtype"/> and <paramref name="shape"/> at <paramref name="data"/>;
    /// <paramref name="release"/> runs when libtorch frees the storage (after the last view is gone).</summary>
    public static unsafe Tensor FromBlob(IntPtr data, ScalarType dtype, long[] shape, Action? release = null)
    {
        Deleter? deleter = null;
        deleter = ptr =>
        {
            release?.Invoke();
            s_live.TryRemove(deleter!, out _);
        };
        s_live.TryAdd(deleter, true);
        IntPtr tensor;
        fixed (long* dims = shape)
            tensor = THSTensor_new(data, deleter, (IntPtr)dims, shape.Length, (sbyte)dtype, (sbyte)dtype, (int)DeviceType.CPU, -1, false);
        if (tensor == IntPtr.Zero)
        {
            s_live.TryRemove(deleter, out _);
            release?.Invoke();
            torch.CheckForErrors();
            throw new InvalidOperationException("libtorch could not create a tensor over the given memory.");
        }
        return Tensor.UnsafeCreateTensor(tensor);
    }
}
