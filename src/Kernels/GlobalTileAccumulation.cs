namespace NanoVlm.Kernels;

/// <summary>
/// How the global tile sums <c>t_j · w_j</c> over the filter taps (all variants use torch's float32 weights and
/// start with <c>t_0 · w_0</c>). torch's C++ is a plain sequential loop, but the compiled code decides rounding.
/// </summary>
public enum GlobalTileAccumulation
{
    /// <summary>Bit-exact with the reference torch 1.13 CPU build (GCC 12, AVX2 kernels): taps 1..4m are
    /// multiplied and rounded, then added in order (a vectorised in-order reduction); the remaining taps use fused
    /// multiply-add (contracted scalar epilogue). Measured against torch on many sizes, see the tests.</summary>
    TorchAvx2 = 0,

    /// <summary>The C++ source order without any fusion: <c>acc = acc + round(t_j · w_j)</c>. Within 1.2e-7 of
    /// torch builds that fuse (max abs diff); portable across compilers.</summary>
    Sequential = 1,
}
