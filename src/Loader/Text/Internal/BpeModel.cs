using System.Buffers;
using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// HF tokenizers' <c>BPE</c> model for the SentencePiece-style files (Llama-2, Gemma): words are split into
/// characters (a character not in the vocabulary becomes its UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens with
/// <c>byte_fallback</c>, else the unknown token, consecutive ones fused with <c>fuse_unk</c>), then merged by rank,
/// lowest first, leftmost first among equal ranks (Rust <c>Word::merge_all</c>); with <c>ignore_merges</c> a word that
/// is itself in the vocabulary is one token. Thread-safe.
/// </summary>
internal sealed class BpeModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly string[] _idToToken;
    private readonly int[] _byteIds = new int[256];
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string A, string B)> merges, string? unkToken,
        bool fuseUnk, bool byteFallback, bool ignoreMerges)
    {
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = _vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1;
        _idToToken = new string[size];
        foreach (var (t, id) in _vocab) _idToToken[id] = t;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!_vocab.TryGetValue(a, out int ia) || !_vocab.TryGetValue(b, out int ib))
                throw new InvalidDataException($"tokenizer.json merge {rank} (\"{a}\", \"{b}\") uses a token that is not in model.vocab.");
            if (!_vocab.TryGetValue(a + b, out int merged))
                throw new InvalidDataException($"tokenizer.json merge {rank} (\"{a}\", \"{b}\"): the merged token \"{a + b}\" is not in model.vocab.");
            _merges.TryAdd(Key(ia, ib), (rank, merged));
        }
        _unkId = unkToken is not null && _vocab.TryGetValue(unkToken, out int u) ? u : -1;
        if (unkToken is not null && _unkId < 0)
            throw new InvalidDataException($"tokenizer.json model.unk_token '{unkToken}' is not in model.vocab.");
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) _byteIds[b] = _vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
    }

    public int VocabularySize => _idToToken.Length;

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public bool TryGetId(string token, out int id) => _vocab.TryGetValue(token, out id);

    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private struct Symbol
    {
        public int Id;
        public int Prev;
        public int Next;
        public bool Gone;
    }

    /// <summary>Encodes one pre-tokenized word and appends its ids.</summary>
    public void Encode(ReadOnlySpan<char> word, PooledBuffer<int> sink)
    {
        if (word.IsEmpty) return;
        if (_ignoreMerges && _lookup.TryGetValue(word, out int whole))
        {
            sink.Add(whole);
            return;
        }
        var symbols = ArrayPool<Symbol>.Shared.Rent(word.Length * 4 + 4);
        try
        {
            int n = InitialSymbols(word, symbols);
            MergeAll(symbols, n);
            for (int i = 0; i < n; i = symbols[i].Next < 0 ? n : symbols[i].Next)
                if (!symbols[i].Gone) sink.Add(symbols[i].Id);
        }
        finally { ArrayPool<Symbol>.Shared.Return(symbols); }
    }

    /// <summary>Rust <c>BPE::merge_word</c> before the merges: one symbol per character, byte fallback, unk.</summary>
    private int InitialSymbols(ReadOnlySpan<char> word, Symbol[] symbols)
    {
        int n = 0;
        Span<byte> utf8 = stackalloc byte[4];
        bool lastWasUnk = false;
        for (int i = 0; i < word.Length;)
        {
            int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var ch = word.Slice(i, width);
            i += width;
            if (_lookup.TryGetValue(ch, out int id))
            {
                Push(symbols, ref n, id);
                lastWasUnk = false;
                continue;
            }
            if (_byteFallback)
            {
                var rune = Rune.DecodeFromUtf16(ch, out var r, out _) == OperationStatus.Done ? r : Rune.ReplacementChar;
                int len = rune.EncodeToUtf8(utf8);
                bool all = true;
                for (int k = 0; k < len; k++) all &= _byteIds[utf8[k]] >= 0;
                if (all)
                {
                    for (int k = 0; k < len; k++) Push(symbols, ref n, _byteIds[utf8[k]]);
                    lastWasUnk = false;
                    continue;
                }
            }
            if (_unkId < 0) continue; // no unk token: Rust drops the character
            if (!(_fuseUnk && lastWasUnk)) Push(symbols, ref n, _unkId);
            lastWasUnk = true;
        }
        return n;
    }

    private static void Push(Symbol[] symbols, ref int n, int id)
    {
        symbols[n] = new Symbol { Id = id, Prev = n - 1, Next = -1, Gone = false };
        if (n > 0) symbols[n - 1].Next = n;
        n++;
    }

    /// <summary>Rust <c>Word::merge_all</c> without dropout: a queue of (rank, position), lowest rank first, then
    /// leftmost; stale entries (a side already merged away, or the pair changed) are skipped.</summary>
    private void MergeAll(Symbol[] s, int n)
    {
        if (n < 2) return;
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        for (int i = 0; i + 1 < n; i++) Enqueue(queue, s, i);
        while (queue.TryDequeue(out var top, out _))
        {
            ref var left = ref s[top.Pos];
            if (left.Gone || left.Next < 0) continue;
            int next = left.Next;
            if (!_merges.TryGetValue(Key(left.Id, s[next].Id), out var m) || m.NewId != top.NewId) continue;
            left.Id = m.NewId;
            left.Next = s[next].Next;
            s[next].Gone = true;
            if (left.Next >= 0) s[left.Next].Prev = top.Pos;
            if (left.Prev >= 0) Enqueue(queue, s, left.Prev);
            Enqueue(queue, s, top.Pos);
        }
    }

    private void Enqueue(PriorityQueue<(int, int), long> queue, Symbol[] s, int pos)
    {
        int next = s[pos].Next;
        if (next < 0) return;
        if (_merges.TryGetValue(Key(s[pos].Id, s[next].Id), out var m))
            queue.Enqueue((pos, m.NewId), ((long)m.Rank << 32) | (uint)pos);
    }
}
