using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// Refuses a data-parallel run whose ranks were started differently. Each rank describes its effective settings
/// (model and training configuration, data, the checkpoint it starts from, a digest of its initial weights…) as named
/// strings; rank 0's are sent to all, every rank compares, and if any rank differs, every rank stops with the same
/// error naming each differing rank and setting. Ranks that silently trained different models or data would
/// otherwise average meaningless gradients.
/// </summary>
public static class RunAgreement
{
    /// <summary>Compares <paramref name="settings"/> with rank 0's on every rank.</summary>
    /// <param name="parallel">The ranks (every rank must call this).</param>
    /// <param name="settings">This rank's settings, by name.</param>
    /// <exception cref="InvalidOperationException">Some rank differs from rank 0 (the same message on every rank).</exception>
    public static void Verify(DataParallel parallel, IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        ArgumentNullException.ThrowIfNull(parallel);
        ArgumentNullException.ThrowIfNull(settings);
        var mine = settings.ToDictionary(s => s.Key, s => s.Value);
        var rank0 = JsonSerializer.Deserialize<Dictionary<string, string>>(parallel.BroadcastFromWriter(JsonSerializer.Serialize(mine)))!;
        var differences = rank0.Keys.Union(mine.Keys)
            .Where(k => !rank0.TryGetValue(k, out var a) || !mine.TryGetValue(k, out var b) || a != b)
            .Select(k => $"{k} ({Show(mine.GetValueOrDefault(k))} here, {Show(rank0.GetValueOrDefault(k))} on rank 0)");
        var reports = parallel.Gather(string.Join("; ", differences));
        var differing = reports.Select((text, rank) => (text, rank)).Where(x => x.text.Length > 0).ToList();
        if (differing.Count > 0)
            throw new InvalidOperationException("The ranks were started with different settings, refusing to train: " +
                string.Join(" | ", differing.Select(d => $"rank {d.rank} differs from rank 0 in {d.text}")));
    }

    /// <summary>A digest of a module's parameters and buffers (names, shapes, values): equal digests mean equal weights.</summary>
    /// <param name="module">The model.</param>
    /// <returns>Hex SHA-256 prefix.</returns>
    public static string WeightsDigest(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var noGrad = no_grad();
        foreach (var (name, tensor) in module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(module.named_buffers()))
        {
            using var scope = NewDisposeScope();
            sha.AppendData(Encoding.UTF8.GetBytes($"{name}{string.Join(',', tensor.shape)}{tensor.dtype}"));
            var host = tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor : tensor.cpu().contiguous();
            sha.AppendData(host.bytes);
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16];
    }

    private static string Show(string? value) => value is null ? "absent" : value.Length <= 96 ? $"'{value}'" : $"'{value[..90]}…' (sha {Sha(value)})";

    private static string Sha(string s) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..12];
}
