using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Runtime;

/// <summary>
/// Process-wide TorchSharp entry points: loading the native backend and choosing the device to train on.
/// </summary>
/// <remarks>
/// On Linux distributions whose libstdc++ predates GCC 13 the native library only loads because the build patched it
/// (see src/Engine/README.md); <see cref="EnsureLoaded"/> is the place where a broken setup shows up, with
/// TorchSharp's own message.
/// </remarks>
public static class TorchRuntime
{
    private static readonly Lazy<Device> s_default = new(() => SelectDevice(null), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads TorchSharp's native CPU backend (libtorch + LibTorchSharp); throws if it cannot be loaded.</summary>
    public static void EnsureLoaded() => InitializeDeviceType(DeviceType.CPU);

    /// <summary>True when a CUDA backend is installed (TorchSharp-cuda-*) and at least one GPU is visible.</summary>
    public static bool IsCudaAvailable => cuda.is_available();

    /// <summary>Number of visible CUDA devices (0 without a CUDA backend).</summary>
    public static int CudaDeviceCount => IsCudaAvailable ? cuda.device_count() : 0;

    /// <summary>The device <see cref="SelectDevice"/> picks for <c>auto</c>: the first GPU if CUDA is available, else the CPU.</summary>
    public static Device DefaultDevice => s_default.Value;

    /// <summary>
    /// Resolves a device specification: <c>null</c>, empty or <c>auto</c> picks <c>cuda:0</c> when CUDA is available
    /// and the CPU otherwise; <c>cpu</c>, <c>cuda</c> and <c>cuda:N</c> are taken literally.
    /// </summary>
    /// <param name="spec">The device specification, case-insensitive.</param>
    /// <returns>The device.</returns>
    /// <exception cref="InvalidOperationException">CUDA was asked for but is not available, or the index is out of range.</exception>
    /// <exception cref="ArgumentException">The specification is not one of the forms above.</exception>
    public static Device SelectDevice(string? spec)
    {
        string s = (spec ?? "").Trim().ToLowerInvariant();
        if (s is "" or "auto")
        {
            EnsureLoaded();
            return IsCudaAvailable ? new Device(DeviceType.CUDA, 0) : CPU;
        }
        if (s == "cpu")
        {
            EnsureLoaded();
            return CPU;
        }
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (s.Length > 4 && (!int.TryParse(s.AsSpan(5), out index) || index < 0))
                throw new ArgumentException($"Invalid CUDA device '{spec}'; expected cuda or cuda:N.", nameof(spec));
            EnsureLoaded();
            if (!IsCudaAvailable)
                throw new InvalidOperationException($"Device '{spec}' was requested but CUDA is not available (build with -p:TorchBackend=cuda on a machine with a GPU).");
            if (index >= CudaDeviceCount)
                throw new InvalidOperationException($"Device '{spec}' was requested but only {CudaDeviceCount} CUDA device(s) are visible.");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{spec}'; expected auto, cpu, cuda or cuda:N.", nameof(spec));
    }
}
