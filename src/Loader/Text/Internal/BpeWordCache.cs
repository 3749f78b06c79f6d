namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// Word → ids for recently encoded pre-tokenized words (Rust tokenizers keep such a cache per BPE model and thread,
/// 10,000 words, first come). Here a fixed table allocated once: direct-mapped by the word's hash, each slot holding
/// a word of at most <see cref="MaxWordChars"/> chars and at most <see cref="MaxIds"/> ids inline, a new word
/// overwriting the slot's old one. So it never allocates after construction, whatever text comes (longer words and
/// words of more ids are simply not cached). Not thread-safe: one per thread.
/// </summary>
internal sealed class BpeWordCache
{
    /// <summary>Longest word cached (UTF-16 units; " information" is 12).</summary>
    public const int MaxWordChars = 16;

    /// <summary>Most ids a cached word may have.</summary>
    public const int MaxIds = 8;

    private readonly int _mask;
    private readonly int[] _hashes;
    private readonly byte[] _wordLengths; // 0 = empty slot
    private readonly byte[] _idCounts;
    private readonly char[] _words;
    private readonly int[] _ids;

    /// <param name="slots">Number of slots, a power of two.</param>
    public BpeWordCache(int slots)
    {
        if (slots <= 0 || (slots & (slots - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be a power of two");
        _mask = slots - 1;
        _hashes = new int[slots];
        _wordLengths = new byte[slots];
        _idCounts = new byte[slots];
        _words = new char[slots * MaxWordChars];
        _ids = new int[slots * MaxIds];
    }

    /// <summary>Whether <paramref name="word"/> may be cached at all (its length).</summary>
    public static bool Fits(ReadOnlySpan<char> word) => word.Length <= MaxWordChars;

    /// <summary>The hash the other members take (computed once per word).</summary>
    public static int Hash(ReadOnlySpan<char> word) => string.GetHashCode(word);

    /// <summary>Appends the cached ids of <paramref name="word"/> to <paramref name="sink"/> when it is cached.</summary>
    public bool TryAppend(ReadOnlySpan<char> word, int hash, PooledBuffer<int> sink)
    {
        int slot = hash & _mask;
        if (_hashes[slot] != hash || _wordLengths[slot] != word.Length
            || !word.SequenceEqual(_words.AsSpan(slot * MaxWordChars, word.Length))) return false;
        sink.Append(_ids.AsSpan(slot * MaxIds, _idCounts[slot]));
        return true;
    }

    /// <summary>Caches <paramref name="word"/> → <paramref name="ids"/>, replacing the slot's word; a word too long or
    /// with too many ids is not cached.</summary>
    public void Set(ReadOnlySpan<char> word, int hash, ReadOnlySpan<int> ids)
    {
        if (word.Length is 0 or > MaxWordChars || ids.Length > MaxIds) return;
        int slot = hash & _mask;
        _hashes[slot] = hash;
        _wordLengths[slot] = (byte)word.Length;
        _idCounts[slot] = (byte)ids.Length;
        word.CopyTo(_words.AsSpan(slot * MaxWordChars));
        ids.CopyTo(_ids.AsSpan(slot * MaxIds));
    }
}
