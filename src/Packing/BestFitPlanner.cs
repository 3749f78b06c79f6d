using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// Best-fit decreasing under both constraints, the default planner: samples by length descending (stable), each
/// into the fullest bin it fits by length and by the image cap, a new bin only when none fits; no spare bins.
/// </summary>
/// <remarks>
/// Ties between equally full bins go to the bin with the fewest images, then the lowest index. O(n log n).
/// <para>
/// Guarantee: never more packs than <see cref="NanovlmCompatPlanner"/> with the same options. Best fit usually
/// wins by far, but with two constraints no greedy rule dominates another on every input (a window bound by the
/// image cap can favour nanoVLM's spreading). So when best fit misses the lower bound
/// <c>max(ceil(tokens / L), ceil(images / cap))</c>, the least-loaded plan is computed as well and the plan with
/// fewer packs is returned (best fit on ties). At the lower bound nothing can beat it and the check costs nothing.
/// </para>
/// </remarks>
public sealed class BestFitPlanner : PackPlanner
{
    private readonly BestFitAssigner _bestFit = new();
    private readonly LeastLoadedAssigner _leastLoaded = new();
    private readonly PlanWriter _writer = new();
    private int[] _order = [];
    private int[] _binOf = [];
    private int[] _otherBinOf = [];

    /// <summary>Creates the planner; <see cref="PackingOptions.Delta"/> only matters for the fallback comparison.</summary>
    public BestFitPlanner(PackingOptions options) : base(options) { }

    /// <inheritdoc />
    public override PlannerKind Kind => PlannerKind.BestFit;

    /// <summary>Plans in which the least-loaded plan had fewer packs and was returned instead (diagnostics).</summary>
    public long FallbacksTaken { get; private set; }

    private protected override int PlanValidated(
        ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, Span<int> members, Span<int> packStarts)
    {
        var n = shapes.Length;
        var seqLen = Options.SequenceLength;
        var cap = Options.MaxImagesPerPack;
        Scratch.Ensure(ref _order, n);
        Scratch.Ensure(ref _binOf, n);
        var order = _order.AsSpan(0, n);
        _sorter.Sort(shapes, order);
        var bins = _bestFit.Assign(shapes, order, _binOf, seqLen, cap);

        var lowerBound = (totals.Tokens + seqLen - 1) / seqLen;
        if (cap > 0) lowerBound = Math.Max(lowerBound, (totals.Images + cap - 1) / cap);
        var binOf = _binOf;
        if (bins > lowerBound)
        {
            Scratch.Ensure(ref _otherBinOf, n);
            var otherBins = _leastLoaded.Assign(shapes, totals, order, _otherBinOf, seqLen, cap, Options.Delta,
                out var used);
            if (used < bins)
            {
                FallbacksTaken++;
                binOf = _otherBinOf;
                bins = otherBins;
            }
        }
        return _writer.Write(order, binOf, bins, Options.Shuffle ? _random : null, members, packStarts);
    }
}
