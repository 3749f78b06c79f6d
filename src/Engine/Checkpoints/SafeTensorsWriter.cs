using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Checkpoints;

/// <summary>
/// Writes safetensors files byte-identical to the reference Rust serializer's: an 8-byte little-endian header length,
/// a compact JSON header (<c>__metadata__</c> first, then the tensors in data order) padded with spaces to a multiple
/// of 8, and the tensors' bytes back to back, ordered by dtype (the serializer's enum order, descending) and then by
/// name. Tensors are streamed from their memory, without a managed copy.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="stream"/>.</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="tensors">Name → tensor (any device; copied to the CPU and made contiguous one at a time).</param>
    /// <param name="metadata">The header's <c>__metadata__</c>, or null for none.</param>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var list = tensors.Select(kv => (kv.Key, Tensor: kv.Value, DType: SafeTensorsDType.NameOf(kv.Value.dtype)))
            .OrderByDescending(t => SafeTensorsDType.Rank(t.DType))
            .ThenBy(t => t.Key, StringComparer.Ordinal)
            .ToList();
        var header = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            header.Append("\"__metadata__\":{");
            bool first = true;
            foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!first) header.Append(',');
                first = false;
                AppendJsonString(header, kv.Key);
                header.Append(':');
                AppendJsonString(header, kv.Value);
            }
            header.Append('}');
        }
        long offset = 0;
        for (int i = 0; i < list.Count; i++)
        {
            var (name, t, dtype) = list[i];
            if (header.Length > 1) header.Append(',');
            long bytes = t.numel() * t.ElementSize;
            AppendJsonString(header, name);
            header.Append(":{\"dtype\":\"").Append(dtype).Append("\",\"shape\":[")
                .AppendJoin(',', t.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))
                .Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append((offset + bytes).ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset += bytes;
        }
        header.Append('}');
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        int padded = (headerBytes.Length + 7) / 8 * 8;
        Span<byte> prefix = stackalloc byte[8];
        BitConverter.TryWriteBytes(prefix, (long)padded);
        stream.Write(prefix);
        stream.Write(headerBytes);
        for (int i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, t, _) in list)
        {
            using var cpu = t.detach().to(CPU).contiguous();
            stream.Write(cpu.bytes);
        }
    }

    // serde_json's escaping: quote, backslash and control characters; everything else raw UTF-8.
    private static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
