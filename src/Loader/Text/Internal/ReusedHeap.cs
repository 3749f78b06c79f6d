namespace NanoVlm.Loader.Text.Internal;

/// <summary>The order of a <see cref="ReusedHeap{T}"/>'s items, given by the item type itself (a static method, so the
/// heap's comparisons are direct calls specialized per item type).</summary>
internal interface IHeapOrder<T>
{
    /// <summary>True when <paramref name="a"/> is popped before <paramref name="b"/>.</summary>
    static abstract bool Before(in T a, in T b);
}

/// <summary>
/// A binary heap over a reused array (the BPE encoders' merge candidates): emptied, never freed, between words, and
/// grown only when a longer text needs more room, so a warm heap allocates nothing (unlike a new
/// <see cref="PriorityQueue{TElement, TPriority}"/> per word).
/// </summary>
internal sealed class ReusedHeap<T> where T : struct, IHeapOrder<T>
{
    private T[] _items = new T[64];

    public int Count { get; private set; }

    /// <summary>Empties the heap and makes room for <paramref name="capacity"/> items.</summary>
    public void Clear(int capacity = 0)
    {
        Count = 0;
        if (_items.Length < capacity) _items = new T[Math.Max(capacity, _items.Length * 2)];
    }

    public void Push(in T item)
    {
        if (Count == _items.Length) Array.Resize(ref _items, Count * 2);
        var items = _items;
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!T.Before(item, items[parent])) break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = item;
    }

    /// <summary>Removes the item that comes first; false when the heap is empty.</summary>
    public bool TryPop(out T top)
    {
        if (Count == 0)
        {
            top = default;
            return false;
        }
        var items = _items;
        top = items[0];
        int n = --Count;
        if (n == 0) return true;
        var last = items[n];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && T.Before(items[child + 1], items[child])) child++;
            if (!T.Before(items[child], last)) break;
            items[i] = items[child];
            i = child;
        }
        items[i] = last;
        return true;
    }
}
