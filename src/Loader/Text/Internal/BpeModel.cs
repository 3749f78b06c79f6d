using System.Buffers;
using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// HF tokenizers' <c>BPE</c> model (Rust <c>BPE::tokenize</c>), for both kinds of tokenizer.json: byte-level files
/// (GPT-2, SmolLM2, Qwen, Llama-3, DeepSeek, GPT-4o), whose words are split into their UTF-8 bytes, each byte a
/// symbol through GPT-2's byte/char table; and SentencePiece-style files (Llama-2, Gemma), whose words are split into
/// characters (one not in the vocabulary becomes its UTF-8 bytes as <c>&lt;0xXX&gt;</c> with <c>byte_fallback</c>,
/// else the unknown token, consecutive ones fused with <c>fuse_unk</c>). Then the symbols are merged by rank
/// (<see cref="BpeWord.MergeAll"/>); with <c>ignore_merges</c> a word that is itself in the vocabulary is one token.
/// Results of short words are kept in a per-thread <see cref="BpeWordCache"/>. Encoding allocates nothing once the
/// thread's scratch and cache exist. Thread-safe.
/// </summary>
internal sealed class BpeModel
{
    /// <summary>Slots of each thread's word cache.</summary>
    public const int CacheSlots = 8192;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly BpeMergeTable _merges;
    private readonly string[] _idToToken;
    private readonly int[] _byteFallbackIds = new int[256];
    private readonly int[] _byteLevelIds = new int[256];
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly bool _byteLevel;
    private readonly ThreadLocal<BpeWordCache> _cache = new(() => new BpeWordCache(CacheSlots));

    /// <param name="vocab">Token → id.</param>
    /// <param name="merges">The merges in rank order, as the two tokens merged.</param>
    /// <param name="unkToken">The unknown token, or null (unknown symbols are then dropped, as in Rust).</param>
    /// <param name="fuseUnk">Consecutive unknown symbols become one unknown token.</param>
    /// <param name="byteFallback">Unknown characters become their bytes' <c>&lt;0xXX&gt;</c> tokens.</param>
    /// <param name="ignoreMerges">A word in the vocabulary is encoded as that one token.</param>
    /// <param name="byteLevel">Words are bytes through GPT-2's byte/char table (HF ByteLevel pre-tokenizer).</param>
    /// <param name="source">Where the vocabulary and merges come from, for error messages.</param>
    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string A, string B)> merges, string? unkToken,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, bool byteLevel = false, string source = "tokenizer.json")
    {
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = _vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1;
        _idToToken = new string[size];
        foreach (var (t, id) in _vocab) _idToToken[id] = t;
        _merges = new BpeMergeTable(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!_vocab.TryGetValue(a, out int ia) || !_vocab.TryGetValue(b, out int ib))
                throw new InvalidDataException($"{source} merge {rank} (\"{a}\", \"{b}\") uses a token that is not in the vocabulary.");
            if (!_vocab.TryGetValue(a + b, out int merged))
                throw new InvalidDataException($"{source} merge {rank} (\"{a}\", \"{b}\"): the merged token \"{a + b}\" is not in the vocabulary.");
            _merges.Set(ia, ib, rank, merged);
        }
        _unkId = unkToken is not null && _vocab.TryGetValue(unkToken, out int u) ? u : -1;
        if (unkToken is not null && _unkId < 0)
            throw new InvalidDataException($"{source} unk_token '{unkToken}' is not in the vocabulary.");
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        _byteLevel = byteLevel;
        Span<char> one = stackalloc char[1];
        for (int b = 0; b < 256; b++)
        {
            _byteFallbackIds[b] = _vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
            one[0] = ByteLevelAlphabet.ByteToChar((byte)b);
            _byteLevelIds[b] = _lookup.TryGetValue(one, out int bl) ? bl : -1;
        }
    }

    public int VocabularySize => _idToToken.Length;

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public bool TryGetId(string token, out int id) => _vocab.TryGetValue(token, out id);

    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Encodes one pre-tokenized word and appends its ids.</summary>
    public void Encode(ReadOnlySpan<char> word, PooledBuffer<int> sink)
    {
        if (word.IsEmpty) return;
        if (!BpeWordCache.Fits(word))
        {
            EncodeUncached(word, sink);
            return;
        }
        var cache = _cache.Value!;
        int hash = BpeWordCache.Hash(word);
        if (cache.TryAppend(word, hash, sink)) return;
        int start = sink.Count;
        EncodeUncached(word, sink);
        cache.Set(word, hash, sink.Span[start..]);
    }

    private void EncodeUncached(ReadOnlySpan<char> word, PooledBuffer<int> sink)
    {
        var w = BpeWord.ForCurrentThread();
        w.Clear();
        if (_byteLevel)
        {
            if (ByteLevelSymbols(word, w, sink)) return;
        }
        else
        {
            if (_ignoreMerges && _lookup.TryGetValue(word, out int whole))
            {
                sink.Add(whole);
                return;
            }
            CharacterSymbols(word, w);
        }
        w.MergeAll(_merges);
        w.CopyIdsTo(sink);
    }

    /// <summary>Byte-level words: one symbol per UTF-8 byte (Rust <c>merge_word</c> on the ByteLevel-mapped word, whose
    /// characters are the bytes). Returns true when <c>ignore_merges</c> found the whole word (already appended).</summary>
    private bool ByteLevelSymbols(ReadOnlySpan<char> word, BpeWord w, PooledBuffer<int> sink)
    {
        w.EnsureByteCapacity(Encoding.UTF8.GetMaxByteCount(word.Length));
        int n = Encoding.UTF8.GetBytes(word, w.Utf8); // a lone surrogate becomes U+FFFD, as a Rust &str would hold it
        var bytes = w.Utf8.AsSpan(0, n);
        if (_ignoreMerges)
        {
            var chars = w.Chars.AsSpan(0, n);
            for (int i = 0; i < n; i++) chars[i] = ByteLevelAlphabet.ByteToChar(bytes[i]);
            if (_lookup.TryGetValue(chars, out int whole))
            {
                sink.Add(whole);
                return true;
            }
        }
        int pendingUnk = -1;
        foreach (byte b in bytes)
        {
            int id = _byteLevelIds[b];
            if (id >= 0) AddAfterPendingUnk(w, ref pendingUnk, id);
            else Unknown(w, ref pendingUnk);
        }
        if (pendingUnk >= 0) w.Add(pendingUnk);
        return false;
    }

    /// <summary>SentencePiece-style words (Rust <c>BPE::merge_word</c>): one symbol per character, byte fallback, unk.</summary>
    private void CharacterSymbols(ReadOnlySpan<char> word, BpeWord w)
    {
        Span<byte> utf8 = stackalloc byte[4];
        int pendingUnk = -1;
        for (int i = 0; i < word.Length;)
        {
            int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var ch = word.Slice(i, width);
            i += width;
            if (_lookup.TryGetValue(ch, out int id))
            {
                AddAfterPendingUnk(w, ref pendingUnk, id);
                continue;
            }
            if (_byteFallback)
            {
                var rune = Rune.DecodeFromUtf16(ch, out var r, out _) == OperationStatus.Done ? r : Rune.ReplacementChar;
                int len = rune.EncodeToUtf8(utf8);
                bool all = true;
                for (int k = 0; k < len; k++) all &= _byteFallbackIds[utf8[k]] >= 0;
                if (all)
                {
                    // Rust adds the bytes without flushing a pending unknown token (it stays pending).
                    for (int k = 0; k < len; k++) w.Add(_byteFallbackIds[utf8[k]]);
                    continue;
                }
            }
            Unknown(w, ref pendingUnk);
        }
        if (pendingUnk >= 0) w.Add(pendingUnk);
    }

    private static void AddAfterPendingUnk(BpeWord w, ref int pendingUnk, int id)
    {
        if (pendingUnk >= 0)
        {
            w.Add(pendingUnk);
            pendingUnk = -1;
        }
        w.Add(id);
    }

    /// <summary>A symbol not in the vocabulary: the unknown token, held pending so that <c>fuse_unk</c> can fuse the
    /// next one into it; no unknown token: dropped (Rust <c>merge_word</c>).</summary>
    private void Unknown(BpeWord w, ref int pendingUnk)
    {
        if (_unkId < 0) return;
        if (pendingUnk >= 0 && !_fuseUnk) w.Add(pendingUnk);
        pendingUnk = _unkId;
    }
}
