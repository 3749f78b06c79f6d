namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// The word being merged (Rust tokenizers' <c>Word</c>): a doubly linked list of symbols over a reused array, the
/// merge queue, and the word's UTF-8 bytes and byte-level characters. One per thread, grown when a longer word comes
/// and otherwise reused, so encoding a warm word allocates nothing.
/// </summary>
internal sealed class BpeWord
{
    private struct Symbol
    {
        public int Id;
        public int Prev;
        public int Next;
        public bool Gone;
    }

    [ThreadStatic] private static BpeWord? t_current;

    private Symbol[] _symbols = new Symbol[64];
    private readonly ReusedHeap<BpeMerge> _queue = new();

    /// <summary>Scratch for the word's UTF-8 bytes (byte-level models).</summary>
    public byte[] Utf8 = new byte[256];

    /// <summary>Scratch for the word's byte-level characters (<c>ignore_merges</c> look-ups).</summary>
    public char[] Chars = new char[256];

    /// <summary>The calling thread's word.</summary>
    public static BpeWord ForCurrentThread() => t_current ??= new BpeWord();

    /// <summary>Number of symbols pushed since <see cref="Clear"/> (merged ones included).</summary>
    public int Length { get; private set; }

    /// <summary>Makes <see cref="Utf8"/> and <see cref="Chars"/> hold at least <paramref name="bytes"/> items.</summary>
    public void EnsureByteCapacity(int bytes)
    {
        if (Utf8.Length < bytes) Utf8 = new byte[Math.Max(bytes, Utf8.Length * 2)];
        if (Chars.Length < bytes) Chars = new char[Math.Max(bytes, Chars.Length * 2)];
    }

    public void Clear() => Length = 0;

    /// <summary>Appends a symbol (Rust <c>Word::add</c>).</summary>
    public void Add(int id)
    {
        if (Length == _symbols.Length) Array.Resize(ref _symbols, Length * 2);
        int n = Length++;
        _symbols[n] = new Symbol { Id = id, Prev = n - 1, Next = -1, Gone = false };
        if (n > 0) _symbols[n - 1].Next = n;
    }

    /// <summary>Rust <c>Word::merge_all</c> without dropout: the lowest-ranked pair first, leftmost among equal ranks;
    /// a queued pair whose left symbol was merged away, or whose pair no longer makes the queued token, is skipped.</summary>
    public void MergeAll(BpeMergeTable merges)
    {
        int n = Length;
        if (n < 2) return;
        var s = _symbols;
        var queue = _queue;
        queue.Clear();
        for (int i = 0; i + 1 < n; i++)
            if (merges.TryGet(s[i].Id, s[i + 1].Id, out int rank, out int newId)) queue.Push(new BpeMerge(rank, i, newId));
        while (queue.TryPop(out var top))
        {
            int pos = top.Position, queuedId = top.NewId;
            ref var left = ref s[pos];
            if (left.Gone || left.Next < 0) continue;
            int next = left.Next;
            if (!merges.TryGet(left.Id, s[next].Id, out _, out int newId) || newId != queuedId) continue;
            left.Id = newId;
            left.Next = s[next].Next;
            s[next].Gone = true;
            if (left.Next >= 0) s[left.Next].Prev = pos;
            if (left.Prev >= 0 && merges.TryGet(s[left.Prev].Id, newId, out int r1, out int m1)) queue.Push(new BpeMerge(r1, left.Prev, m1));
            if (left.Next >= 0 && merges.TryGet(newId, s[left.Next].Id, out int r2, out int m2)) queue.Push(new BpeMerge(r2, pos, m2));
        }
    }

    /// <summary>Appends the ids of the remaining symbols, in order, and returns how many.</summary>
    public int CopyIdsTo(PooledBuffer<int> sink)
    {
        int count = 0;
        if (Length == 0) return 0;
        for (int i = 0; i >= 0; i = _symbols[i].Next)
        {
            sink.Add(_symbols[i].Id);
            count++;
        }
        return count;
    }
}
