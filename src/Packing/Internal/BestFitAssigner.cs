namespace NanoVlm.Packing.Internal;

/// <summary>
/// Best-fit decreasing under the length and the image cap as an index structure: bins bucketed by load (0..L−1),
/// each bucket a treap ordered by (images, index), and a segment tree over loads holding the fewest images per
/// range. "The fullest bin with load ≤ L − length and images ≤ cap − sample images" is then one descent:
/// O(log L + log n) per sample. Ties between equally full bins go to the one with the fewest images (keeping
/// image headroom), then the lowest index. Full bins (load = L) are never indexed.
/// </summary>
internal sealed class BestFitAssigner
{
    private readonly TreapForest _forest = new(); // Key = images
    private int[] _load = [];
    private int[] _rootAtLoad = [];
    private int[] _minImages = []; // segment tree over loads: fewest images of any bin at that load
    private int _leaves;
    private int _seqLen = -1; // L the index was last built for; −1 = not built
    private int _lastBins;    // bins of the previous call, whose index entries are cleared lazily

    /// <summary>Assigns every sample of <paramref name="order"/> (already sorted) to a bin; returns the bin count.</summary>
    public int Assign(ReadOnlySpan<SampleShape> shapes, ReadOnlySpan<int> order, Span<int> binOf, int seqLen, int cap)
    {
        var n = shapes.Length;
        ResetIndex(seqLen); // first: it reads the previous plan's loads, which growing _load would discard
        Scratch.Ensure(ref _load, n);
        _forest.EnsureCapacity(n);

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
            binOf[item] = bin;
        }
        _lastBins = binCount;
        return binCount;
    }

    // Clearing the O(L) index costs more than planning a streaming window of a few dozen samples, so after the
    // first build only the leaves the previous plan touched (and their paths to the root) are cleared.
    private void ResetIndex(int seqLen)
    {
        if (seqLen != _seqLen)
        {
            _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)seqLen);
            Scratch.Ensure(ref _rootAtLoad, seqLen);
            Scratch.Ensure(ref _minImages, 2 * _leaves);
            _rootAtLoad.AsSpan(0, seqLen).Fill(-1);
            _minImages.AsSpan(0, 2 * _leaves).Fill(int.MaxValue);
            _seqLen = seqLen;
            _lastBins = 0;
            return;
        }
        for (var b = 0; b < _lastBins; b++)
        {
            var at = _load[b];
            if (at >= seqLen || _rootAtLoad[at] < 0) continue;
            _rootAtLoad[at] = -1;
            for (var i = _leaves + at; i >= 1 && _minImages[i] != int.MaxValue; i >>= 1)
                _minImages[i] = int.MaxValue;
        }
        _lastBins = 0;
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
