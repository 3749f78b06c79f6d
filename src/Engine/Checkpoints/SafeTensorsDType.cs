using static TorchSharp.torch;

namespace NanoVlm.Engine.Checkpoints;

/// <summary>safetensors dtype names, their sizes, libtorch types, and the Rust serializer's order (which decides the
/// order of tensors in a file).</summary>
internal static class SafeTensorsDType
{
    // safetensors' Dtype enum order (safetensors/src/tensor.rs); files list tensors by this order descending.
    private static readonly string[] s_order =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"];

    public static int Rank(string dtype) => Array.IndexOf(s_order, dtype);

    public static bool TryGet(string name, out ScalarType type, out int size)
    {
        (type, size) = name switch
        {
            "F32" => (ScalarType.Float32, 4),
            "F16" => (ScalarType.Float16, 2),
            "BF16" => (ScalarType.BFloat16, 2),
            "F64" => (ScalarType.Float64, 8),
            "I64" => (ScalarType.Int64, 8),
            "I32" => (ScalarType.Int32, 4),
            "I16" => (ScalarType.Int16, 2),
            "I8" => (ScalarType.Int8, 1),
            "U8" => (ScalarType.Byte, 1),
            "BOOL" => (ScalarType.Bool, 1),
            _ => ((ScalarType)(-1), 0),
        };
        return size > 0;
    }

    public static string NameOf(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors has no dtype for {type}."),
    };
}
