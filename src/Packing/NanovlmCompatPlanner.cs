using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// nanoVLM's <c>_balanced_greedy_knapsack</c>, group for group and in the same order, in O(n log n).
/// </summary>
/// <remarks>
/// nanoVLM sorts samples by length (descending, stable), opens <c>ceil(total / L) + delta</c> empty bins, and for
/// each sample walks all bins sorted by (load, index) taking the first where the length and the image cap both
/// fit, appending a new bin when none does; it then shuffles the bins and drops the empty ones. Sorting all bins
/// per sample costs O(n · k log k). Here bins are bucketed by image count, each bucket a treap ordered by
/// (load, index), and a segment tree over the buckets yields the least (load, index) bin among those with
/// <c>images ≤ cap − sample images</c>. That bin is Python's first fit: if even it cannot take the length, no
/// image-feasible bin can, because all the others are at least as loaded.
/// </remarks>
public sealed class NanovlmCompatPlanner : PackPlanner
{
    private readonly TreapForest _forest = new(); // Key = load
    private readonly PlanWriter _writer = new();
    private int[] _order = [];
    private int[] _binOf = [];
    private int[] _images = [];
    private int[] _bucketRoot = [];
    private int[] _tree = []; // segment tree over image buckets: best bin (least load, then index) or −1
    private int _leaves;

    /// <summary>Creates the planner; <see cref="PackingOptions.Delta"/> is nanoVLM's <c>delta</c>.</summary>
    public NanovlmCompatPlanner(PackingOptions options) : base(options) { }

    /// <inheritdoc />
    public override PlannerKind Kind => PlannerKind.NanovlmCompat;

    private protected override int PlanValidated(
        ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, Span<int> members, Span<int> packStarts)
    {
        var n = shapes.Length;
        var seqLen = Options.SequenceLength;
        var cap = Options.MaxImagesPerPack;
        var initialBins = (int)((totals.Tokens + seqLen - 1) / seqLen) + Options.Delta;
        var maxBins = initialBins + n;
        // A bin never holds more images than the cap or than the window has: that bounds the buckets.
        var buckets = (int)Math.Min(cap, totals.Images) + 1;

        Scratch.Ensure(ref _order, n);
        Scratch.Ensure(ref _binOf, n);
        Scratch.Ensure(ref _images, maxBins);
        Scratch.Ensure(ref _bucketRoot, buckets);
        _forest.EnsureCapacity(maxBins);
        _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)buckets);
        Scratch.Ensure(ref _tree, 2 * _leaves);

        var order = _order.AsSpan(0, n);
        _sorter.Sort(shapes, order);
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
            load[bin] += len;
            images[bin] += im;
            var to = images[bin];
            _bucketRoot[to] = _forest.Insert(_bucketRoot[to], bin);
            UpdateLeaf(to);
            if (from >= 0 && from != to) UpdateLeaf(from);
            _binOf[item] = bin;
        }

        return _writer.Write(order, _binOf, binCount, Options.Shuffle ? _random : null, members, packStarts);
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
