namespace NanoVlm.Packing.Internal;

/// <summary>
/// Many treaps over one set of nodes (bins): each bin lives in at most one tree, ordered by
/// (<see cref="Key"/>[bin], bin). Both planners keep one tree per bucket and need "smallest in bucket",
/// insert and delete in O(log n) expected, without per-node objects — so nodes are indices into arrays.
/// </summary>
/// <remarks>A bin's key must not change while it is in a tree: remove it, change the key, insert it again.</remarks>
internal sealed class TreapForest
{
    private int[] _left = [];
    private int[] _right = [];

    /// <summary>Sort key per bin (the compat planner: load; best fit: images). Owned by the caller.</summary>
    public int[] Key = [];

    public void EnsureCapacity(int bins)
    {
        Scratch.Ensure(ref _left, bins);
        Scratch.Ensure(ref _right, bins);
        Scratch.Ensure(ref Key, bins);
    }

    // A fixed hash of the bin index as heap priority: deterministic plans, no random state, and still
    // "random enough" for expected logarithmic depth.
    private static uint Priority(int x)
    {
        var z = (uint)x * 0x9E3779B9u + 0x7F4A7C15u;
        z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
        z = (z ^ (z >> 13)) * 0xC2B2AE35u;
        return z ^ (z >> 16);
    }

    private bool Less(int a, int b)
    {
        var ka = Key[a];
        var kb = Key[b];
        return ka < kb || (ka == kb && a < b);
    }

    /// <summary>Inserts bin <paramref name="x"/> into the tree rooted at <paramref name="root"/>; returns the new root.</summary>
    public int Insert(int root, int x)
    {
        _left[x] = -1;
        _right[x] = -1;
        return InsertAt(root, x, Priority(x));
    }

    private int InsertAt(int t, int x, uint px)
    {
        if (t < 0) return x;
        if (px > Priority(t))
        {
            Split(t, x, out _left[x], out _right[x]);
            return x;
        }
        if (Less(x, t)) _left[t] = InsertAt(_left[t], x, px);
        else _right[t] = InsertAt(_right[t], x, px);
        return t;
    }

    // Nodes ordered before x go left, the rest right.
    private void Split(int t, int x, out int l, out int r)
    {
        if (t < 0) { l = r = -1; return; }
        if (Less(t, x))
        {
            Split(_right[t], x, out var a, out r);
            _right[t] = a;
            l = t;
        }
        else
        {
            Split(_left[t], x, out l, out var b);
            _left[t] = b;
            r = t;
        }
    }

    private int Merge(int a, int b)
    {
        if (a < 0) return b;
        if (b < 0) return a;
        if (Priority(a) > Priority(b))
        {
            _right[a] = Merge(_right[a], b);
            return a;
        }
        _left[b] = Merge(a, _left[b]);
        return b;
    }

    /// <summary>Removes bin <paramref name="x"/> (which must be in the tree); returns the new root.</summary>
    public int Remove(int t, int x)
    {
        if (t == x) return Merge(_left[t], _right[t]);
        if (Less(x, t)) _left[t] = Remove(_left[t], x);
        else _right[t] = Remove(_right[t], x);
        return t;
    }

    /// <summary>The first bin of the tree (smallest key, then index), or −1 when empty.</summary>
    public int First(int t)
    {
        if (t < 0) return -1;
        while (_left[t] >= 0) t = _left[t];
        return t;
    }
}
