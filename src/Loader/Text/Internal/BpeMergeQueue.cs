namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// The merge candidates of one word: a binary min-heap over reused arrays, ordered by (rank, position) as Rust
/// tokenizers' <c>Merge</c> orders its <c>BinaryHeap</c> (lowest rank first, then leftmost). Cleared, never freed,
/// between words, so a warm queue allocates nothing.
/// </summary>
internal sealed class BpeMergeQueue
{
    private long[] _keys = new long[64];
    private int[] _newIds = new int[64];
    private int _count;

    public void Clear() => _count = 0;

    /// <summary>Adds the merge of the symbol at <paramref name="pos"/> with its right neighbour into
    /// <paramref name="newId"/>.</summary>
    public void Push(int rank, int pos, int newId)
    {
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _newIds, _count * 2);
        }
        long key = ((long)rank << 32) | (uint)pos;
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_keys[parent] <= key) break;
            _keys[i] = _keys[parent];
            _newIds[i] = _newIds[parent];
            i = parent;
        }
        _keys[i] = key;
        _newIds[i] = newId;
    }

    /// <summary>Removes the lowest (rank, position) candidate.</summary>
    public bool TryPop(out int pos, out int newId)
    {
        if (_count == 0)
        {
            pos = newId = 0;
            return false;
        }
        pos = (int)(uint)_keys[0];
        newId = _newIds[0];
        int n = --_count;
        if (n == 0) return true;
        long key = _keys[n];
        int id = _newIds[n];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && _keys[child + 1] < _keys[child]) child++;
            if (_keys[child] >= key) break;
            _keys[i] = _keys[child];
            _newIds[i] = _newIds[child];
            i = child;
        }
        _keys[i] = key;
        _newIds[i] = id;
        return true;
    }
}
