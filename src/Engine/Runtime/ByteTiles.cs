using static TorchSharp.torch;

namespace NanoVlm.Engine.Runtime;

/// <summary>
/// nanoVLM's <c>ToTensor</c> on the device: uint8 pixels → float32 <c>x / 255</c>, bit-identical to torchvision's
/// <c>img.float().div(255)</c> on the CPU (an IEEE division, correctly rounded, on every device).
/// </summary>
public static class ByteTiles
{
    /// <summary>Converts <paramref name="bytes"/> (uint8, any shape, any device) to float32 <c>value / 255</c> on its device.</summary>
    /// <param name="bytes">A uint8 tensor.</param>
    /// <returns>A new float32 tensor of the same shape on the same device.</returns>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not uint8.</exception>
    public static Tensor ToFloat(Tensor bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.dtype != ScalarType.Byte)
            throw new ArgumentException($"Expected uint8 tiles, got {bytes.dtype}.", nameof(bytes));
        // The divisor is a tensor on the tiles' device, not a Scalar: libtorch's CUDA true division by a CPU scalar
        // multiplies by its reciprocal (ATen BinaryDivTrueKernel.cu), which can be one ulp off x / 255; by a device
        // tensor it divides. On the CPU both divide.
        using var divisor = tensor(255f, ScalarType.Float32, bytes.device);
        return bytes.to(ScalarType.Float32).div_(divisor);
    }
}
