using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoVlm.Kernels.Internal;

/// <summary>
/// Whether the 512-bit kernels run: the CPU accelerates <see cref="Vector512"/> and has AVX-512 BW and VBMI (byte
/// permutes), and the calling thread has not switched them off. Tests switch them off on their own thread to run the
/// 256-bit fallback on the same inputs and compare bytes; nothing else touches the switch.
/// </summary>
internal static class WideSimd
{
    [ThreadStatic] private static bool t_disabled;

    /// <summary>The CPU has what the 512-bit kernels use.</summary>
    internal static bool IsSupported { get; } = Vector512.IsHardwareAccelerated && Avx512BW.IsSupported && Avx512Vbmi.IsSupported;

    /// <summary>The 512-bit kernels run on this thread.</summary>
    internal static bool Enabled => IsSupported && !t_disabled;

    /// <summary>The switch itself, for benchmarks that time the fallback in the same run (set and reset around each call).</summary>
    internal static bool DisabledOnThisThread
    {
        get => t_disabled;
        set => t_disabled = value;
    }

    /// <summary>Runs <paramref name="action"/> with the 512-bit kernels switched off on this thread (the fallback path).</summary>
    internal static void WithoutWide(Action action)
    {
        bool old = t_disabled;
        t_disabled = true;
        try { action(); }
        finally { t_disabled = old; }
    }
}
