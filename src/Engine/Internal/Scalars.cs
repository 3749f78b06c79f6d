using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Internal;

/// <summary>
/// Scalars the engine holds itself. TorchSharp turns a number passed where a <see cref="Scalar"/> is expected (and the
/// implicit alpha of <c>a + b</c>, <c>add</c>, <c>sub</c>) into a temporary <see cref="Scalar"/> and hands its native
/// handle to libtorch without keeping the managed object alive; a garbage collection during the call can run its
/// finalizer, which frees the native scalar while the op still reads it. Long training runs died that way after a
/// few hundred steps (<c>c10::Scalar::toFloat: Expected false to be true</c> in <c>masked_fill</c>). So engine code
/// passes constants from here (alive for the process) and other values as <c>using var s = value.ToScalar()</c>
/// around the call.
/// </summary>
internal static class Scalars
{
    /// <summary>1 (the alpha of a plain tensor addition).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>−∞.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>−100, the ignore index of nanoVLM's labels.</summary>
    public static readonly Scalar IgnoreIndex = NanoVlm.Packing.PackAssembler.IgnoreLabel.ToScalar();

    private static readonly Scalar Float32Min = ((double)float.MinValue).ToScalar();
    private static readonly Scalar Float64Min = double.MinValue.ToScalar();
    private static readonly Scalar BFloat16Min = (-3.3895313892515355e38).ToScalar();
    private static readonly Scalar Float16Min = (-65504.0).ToScalar();

    /// <summary><c>torch.finfo(dtype).min</c> as a held scalar.</summary>
    /// <param name="dtype">A floating dtype.</param>
    /// <returns>The most negative finite value.</returns>
    public static Scalar MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => Float32Min,
        ScalarType.Float64 => Float64Min,
        ScalarType.BFloat16 => BFloat16Min,
        ScalarType.Float16 => Float16Min,
        _ => throw new ArgumentException($"Attention runs in a floating dtype, not {dtype}.", nameof(dtype)),
    };

    /// <summary><c>a + b</c> with the held alpha.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>A new tensor.</returns>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);
}
