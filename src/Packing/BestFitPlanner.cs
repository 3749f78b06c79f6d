using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// Best-fit decreasing under both constraints: samples by length descending (stable), each into the fullest bin
/// it fits by length and by the image cap; a new bin only when none fits. No spare bins are opened.
/// </summary>
/// <remarks>
/// Ties between equally full bins go to the bin with the fewest images, then the lowest index, which keeps image
/// headroom for later samples. Bins are bucketed by load (0..L), each bucket a treap ordered by (images, index),
/// and a segment tree over loads keeps the minimum image count per range, so "the fullest bin with
/// load ≤ L − length and images ≤ cap − sample images" is one descent: O(log L + log n) per sample.
/// Best fit never needs more bins than nanoVLM's least-loaded rule on the same window, and usually fewer.
/// </remarks>
public sealed class BestFitPlanner : PackPlanner
{
    private readonly TreapForest _forest = new(); // Key = images
    private readonly PlanWriter _writer = new();
    private int[] _order = [];
    private int[] _binOf = [];
    private int[] _load = [];
    private int[] _rootAtLoad = [];
    private int[] _minImages = []; // segment tree over loads 0..L: fewest images of any bin at that load
    private int _leaves;

    /// <summary>Creates the planner; <see cref="PackingOptions.Delta"/> is not used.</summary>
    public BestFitPlanner(PackingOptions options) : base(options) { }

    /// <inheritdoc />
    public override PlannerKind Kind => PlannerKind.BestFit;

    private protected override int PlanValidated(
        ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, Span<int> members, Span<int> packStarts)
    {
        var n = shapes.Length;
        var seqLen = Options.SequenceLength;
        var cap = Options.MaxImagesPerPack;

        Scratch.Ensure(ref _order, n);
        Scratch.Ensure(ref _binOf, n);
        Scratch.Ensure(ref _load, n);
        _forest.EnsureCapacity(n);
        // Full bins (load = L) never take another sample and are not indexed, so loads 0..L−1 suffice.
        _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)seqLen);
        Scratch.Ensure(ref _rootAtLoad, seqLen);
        Scratch.Ensure(ref _minImages, 2 * _leaves);
        _rootAtLoad.AsSpan(0, seqLen).Fill(-1);
        _minImages.AsSpan(0, 2 * _leaves).Fill(int.MaxValue);

        var order = _order.AsSpan(0, n);
        _sorter.Sort(shapes, order);
        var images = _forest.Key;
        var load = _load;

        var binCount = 0;
        foreach (var item in order)
        {
            var len = shapes[item].Length;
            var im = shapes[item].Images;
            var at = FullestFit(seqLen - len, cap - im);
            int bin;
            if (at >= 0)
            {
                bin = _forest.First(_rootAtLoad[at]);
                _rootAtLoad[at] = _forest.Remove(_rootAtLoad[at], bin);
                UpdateLeaf(at);
            }
            else
            {
                bin = binCount++;
                load[bin] = 0;
                images[bin] = 0;
            }
            load[bin] += len;
            images[bin] += im;
            var to = load[bin];
            if (to < seqLen)
            {
                _rootAtLoad[to] = _forest.Insert(_rootAtLoad[to], bin);
                UpdateLeaf(to);
            }
            _binOf[item] = bin;
        }

        return _writer.Write(order, _binOf, binCount, Options.Shuffle ? _random : null, members, packStarts);
    }

    private void UpdateLeaf(int at)
    {
        var first = _forest.First(_rootAtLoad[at]);
        var i = _leaves + at;
        _minImages[i] = first < 0 ? int.MaxValue : _forest.Key[first];
        for (i >>= 1; i >= 1; i >>= 1)
            _minImages[i] = Math.Min(_minImages[2 * i], _minImages[2 * i + 1]);
    }

    // The highest load ≤ maxLoad holding a bin with ≤ maxImages images, or −1.
    private int FullestFit(int maxLoad, int maxImages)
    {
        if (maxLoad < 0 || _minImages[1] > maxImages) return -1;
        return Descend(1, 0, _leaves - 1, maxLoad, maxImages);
    }

    private int Descend(int node, int lo, int hi, int maxLoad, int maxImages)
    {
        if (lo > maxLoad || _minImages[node] > maxImages) return -1;
        if (lo == hi) return lo;
        var mid = (lo + hi) >> 1;
        var r = Descend(2 * node + 1, mid + 1, hi, maxLoad, maxImages);
        return r >= 0 ? r : Descend(2 * node, lo, mid, maxLoad, maxImages);
    }
}
