namespace NanoVlm.Packing.Internal;

/// <summary>
/// nanoVLM's least-loaded knapsack rule as an index structure: bins bucketed by image count, each bucket a treap
/// ordered by (load, index), and a segment tree over the buckets that yields the least (load, index) bin among
/// those with <c>images ≤ cap − sample images</c>. That bin is exactly Python's first fit in its walk over
/// <c>sorted(range(k), key=load)</c>: if even it cannot take the length, no image-feasible bin can, since all the
/// others are at least as loaded. O(log n + log cap) per sample.
/// </summary>
internal sealed class LeastLoadedAssigner
{
    private readonly TreapForest _forest = new(); // Key = load
    private int[] _images = [];
    private int[] _bucketRoot = [];
    private int[] _tree = []; // segment tree over image buckets: best bin (least load, then index) or −1
    private int _leaves;

    /// <summary>
    /// Assigns every sample of <paramref name="order"/> (already sorted) to a bin, writing <paramref name="binOf"/>;
    /// returns the number of bins including the empty ones nanoVLM opens up front; <paramref name="usedBins"/>
    /// counts the non-empty ones.
    /// </summary>
    public int Assign(ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, ReadOnlySpan<int> order, Span<int> binOf,
        int seqLen, int cap, int delta, out int usedBins)
    {
        usedBins = 0;
        var n = shapes.Length;
        var initialBins = (int)((totals.Tokens + seqLen - 1) / seqLen) + delta;
        var maxBins = initialBins + n;
        // A bin never holds more images than the cap or than the window has: that bounds the buckets.
        var buckets = (int)Math.Min(cap, totals.Images) + 1;

        Scratch.Ensure(ref _images, maxBins);
        Scratch.Ensure(ref _bucketRoot, buckets);
        _forest.EnsureCapacity(maxBins);
        _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)buckets);
        Scratch.Ensure(ref _tree, 2 * _leaves);

        var load = _forest.Key;
        var images = _images;
        _bucketRoot.AsSpan(0, buckets).Fill(-1);
        _tree.AsSpan(0, 2 * _leaves).Fill(-1);

        var root0 = -1;
        for (var b = 0; b < initialBins; b++)
        {
            load[b] = 0;
            images[b] = 0;
            root0 = _forest.Insert(root0, b);
        }
        _bucketRoot[0] = root0;
        UpdateLeaf(0);

        var binCount = initialBins;
        foreach (var item in order)
        {
            var len = shapes[item].Length;
            var im = shapes[item].Images;
            var bin = BestBin(Math.Min(cap - im, buckets - 1));
            var from = -1;
            if (bin >= 0 && load[bin] + len <= seqLen)
            {
                from = images[bin];
                _bucketRoot[from] = _forest.Remove(_bucketRoot[from], bin);
            }
            else
            {
                bin = binCount++;
                load[bin] = 0;
                images[bin] = 0;
            }
            if (load[bin] == 0) usedBins++;
            load[bin] += len;
            images[bin] += im;
            var to = images[bin];
            _bucketRoot[to] = _forest.Insert(_bucketRoot[to], bin);
            UpdateLeaf(to);
            if (from >= 0 && from != to) UpdateLeaf(from);
            binOf[item] = bin;
        }

        return binCount;
    }

    private bool Better(int a, int b)
    {
        // a beats b: less loaded, ties to the lower index (Python's stable sort over bin indices).
        if (a < 0) return false;
        if (b < 0) return true;
        var load = _forest.Key;
        return load[a] < load[b] || (load[a] == load[b] && a < b);
    }

    private void UpdateLeaf(int bucket)
    {
        var i = _leaves + bucket;
        _tree[i] = _forest.First(_bucketRoot[bucket]);
        for (i >>= 1; i >= 1; i >>= 1)
        {
            var l = _tree[2 * i];
            var r = _tree[2 * i + 1];
            _tree[i] = Better(r, l) ? r : l;
        }
    }

    // The best bin among buckets 0..maxBucket (inclusive), or −1.
    private int BestBin(int maxBucket)
    {
        var best = -1;
        int lo = _leaves, hi = _leaves + maxBucket + 1;
        while (lo < hi)
        {
            if ((lo & 1) == 1) { var c = _tree[lo++]; if (Better(c, best)) best = c; }
            if ((hi & 1) == 1) { var c = _tree[--hi]; if (Better(c, best)) best = c; }
            lo >>= 1;
            hi >>= 1;
        }
        return best;
    }
}
