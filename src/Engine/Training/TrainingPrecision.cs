using NanoVlm.Engine.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>The numerics of the training forward (the parameters and the optimizer state are float32 in every mode).</summary>
public enum TrainingPrecision
{
    /// <summary>bf16 mixed precision on CUDA (what nanoVLM's train.py runs there), float32 on the CPU.</summary>
    Auto,

    /// <summary>Everything in float32.</summary>
    Float32,

    /// <summary>nanoVLM's <c>torch.autocast(dtype=torch.bfloat16)</c>: linear layers, the patch convolution and attention
    /// in bf16 with the weights cast per call, residuals, norms, embeddings and the loss in float32
    /// (<see cref="Autocast"/>).</summary>
    BFloat16,
}

/// <summary>Parsing and resolving <see cref="TrainingPrecision"/>.</summary>
public static class TrainingPrecisions
{
    /// <summary>The names accepted by <see cref="Parse"/> (the <c>precision</c> configuration key and
    /// <c>--precision</c>).</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "fp32", "bf16"];

    /// <summary><c>auto</c>, <c>fp32</c> or <c>bf16</c> (case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The precision, or null for an unknown name.</returns>
    public static TrainingPrecision? Parse(string? name) => name?.ToLowerInvariant() switch
    {
        "auto" => TrainingPrecision.Auto,
        "fp32" or "float32" => TrainingPrecision.Float32,
        "bf16" or "bfloat16" => TrainingPrecision.BFloat16,
        _ => null,
    };

    /// <summary>The name <see cref="Parse"/> reads back.</summary>
    /// <param name="precision">The precision.</param>
    /// <returns><c>auto</c>, <c>fp32</c> or <c>bf16</c>.</returns>
    public static string Name(this TrainingPrecision precision) => precision switch
    {
        TrainingPrecision.Float32 => "fp32",
        TrainingPrecision.BFloat16 => "bf16",
        _ => "auto",
    };

    /// <summary>The low-precision dtype of the forward on <paramref name="device"/> (null = float32):
    /// <see cref="TrainingPrecision.Auto"/> is bf16 on CUDA and float32 elsewhere.</summary>
    /// <param name="precision">The setting.</param>
    /// <param name="device">The training device.</param>
    /// <returns><see cref="ScalarType.BFloat16"/> or null.</returns>
    public static ScalarType? ComputeDtype(this TrainingPrecision precision, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return precision switch
        {
            TrainingPrecision.BFloat16 => ScalarType.BFloat16,
            TrainingPrecision.Auto when device.type == DeviceType.CUDA => ScalarType.BFloat16,
            _ => null,
        };
    }
}
