using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// The decoder's key/value cache for generation: per block, post-RoPE keys and values of the KV heads
/// [B, n_kv_heads, T_kv, hd], grown along T_kv as nanoVLM grows it (concatenation).
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Entry[] _entries;

    /// <summary>An empty cache for <paramref name="blocks"/> decoder blocks.</summary>
    /// <param name="blocks">lm_n_blocks.</param>
    public KvCache(int blocks)
    {
        _entries = new Entry[blocks];
        for (int i = 0; i < blocks; i++) _entries[i] = new Entry();
    }

    /// <summary>The entry of block <paramref name="block"/>.</summary>
    /// <param name="block">Block index.</param>
    public Entry this[int block] => _entries[block];

    /// <summary>Cached positions (T_kv), 0 before the prefill.</summary>
    public long Length => _entries.Length == 0 || _entries[0].Key is null ? 0 : _entries[0].Key!.shape[2];

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var e in _entries) e.Dispose();
    }

    /// <summary>One block's cached keys and values.</summary>
    public sealed class Entry : IDisposable
    {
        /// <summary>Keys [B, KV, T_kv, hd] or null.</summary>
        public Tensor? Key { get; private set; }

        /// <summary>Values [B, KV, T_kv, hd] or null.</summary>
        public Tensor? Value { get; private set; }

        /// <summary>Appends the new keys/values and returns the whole cache (tensors owned by the cache).</summary>
        /// <param name="key">New keys.</param>
        /// <param name="value">New values.</param>
        /// <returns>All keys and values so far.</returns>
        public (Tensor Key, Tensor Value) Append(Tensor key, Tensor value)
        {
            Tensor k = Key is null ? key.alias() : torch.cat([Key, key], 2);
            Tensor v = Value is null ? value.alias() : torch.cat([Value, value], 2);
            Key?.Dispose();
            Value?.Dispose();
            Key = k.DetachFromDisposeScope();
            Value = v.DetachFromDisposeScope();
            return (Key, Value);
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            Key?.Dispose();
            Value?.Dispose();
            Key = Value = null;
        }
    }
}
