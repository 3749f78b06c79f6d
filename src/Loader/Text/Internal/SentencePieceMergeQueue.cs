namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A candidate merge of two adjacent symbols in SentencePiece BPE: sentencepiece's <c>SymbolPair</c>
/// (<c>src/bpe_model.cc</c>), plus the merged piece's id.
/// </summary>
internal struct SentencePieceMerge
{
    public float Score;
    public int Left;
    public int Right;
    /// <summary>Length of the merged piece (chars); a mismatch when popped means the pair is stale.</summary>
    public int Length;
    public int PieceId;
}

/// <summary>
/// A binary max-heap of <see cref="SentencePieceMerge"/> over a reused array: the highest score first, the leftmost
/// among equal scores (sentencepiece's <c>SymbolPairComparator</c> in <c>bpe_model.cc</c>). Grows only when a longer
/// text needs more room, so a warm queue allocates nothing.
/// </summary>
internal sealed class SentencePieceMergeQueue
{
    private SentencePieceMerge[] _items = new SentencePieceMerge[64];
    private int _count;

    public int Count => _count;

    /// <summary>Empties the queue and makes room for <paramref name="capacity"/> entries.</summary>
    public void Reset(int capacity)
    {
        _count = 0;
        if (_items.Length < capacity) _items = new SentencePieceMerge[Math.Max(capacity, _items.Length * 2)];
    }

    /// <summary>True when <paramref name="a"/> is popped before <paramref name="b"/>.</summary>
    private static bool Before(in SentencePieceMerge a, in SentencePieceMerge b) =>
        a.Score > b.Score || (a.Score == b.Score && a.Left < b.Left);

    public void Push(in SentencePieceMerge item)
    {
        if (_count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        var items = _items;
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(item, items[parent])) break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = item;
    }

    public SentencePieceMerge Pop()
    {
        var items = _items;
        var top = items[0];
        var last = items[--_count];
        int n = _count, i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Before(items[child + 1], items[child])) child++;
            if (!Before(items[child], last)) break;
            items[i] = items[child];
            i = child;
        }
        if (n > 0) items[i] = last;
        return top;
    }
}
