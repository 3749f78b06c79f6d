using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// nanoVLM's <c>_balanced_greedy_knapsack</c>, group for group and in the same order, in O(n log n).
/// </summary>
/// <remarks>
/// nanoVLM sorts samples by length (descending, stable), opens <c>ceil(total / L) + delta</c> empty bins, and for
/// each sample walks all bins sorted by (load, index) taking the first where the length and the image cap both
/// fit, appending a new bin when none does; it then shuffles the bins and drops the empty ones. Sorting all bins
/// per sample costs O(n · k log k); here an index over (image count, load, bin) finds the same bin in
/// O(log n + log cap), so the whole plan is O(n log n). Parity with nanoVLM's Python (shuffle included) is
/// tested against fixtures written by <c>tools/knapsack_reference.py</c>.
/// </remarks>
public sealed class NanovlmCompatPlanner : PackPlanner
{
    private readonly LeastLoadedAssigner _assigner = new();
    private readonly PlanWriter _writer = new();
    private int[] _order = [];
    private int[] _binOf = [];

    /// <summary>Creates the planner; <see cref="PackingOptions.Delta"/> is nanoVLM's <c>delta</c>.</summary>
    public NanovlmCompatPlanner(PackingOptions options) : base(options) { }

    /// <inheritdoc />
    public override PlannerKind Kind => PlannerKind.NanovlmCompat;

    private protected override int PlanValidated(
        ReadOnlySpan<SampleShape> shapes, ShapeTotals totals, Span<int> members, Span<int> packStarts)
    {
        var n = shapes.Length;
        Scratch.Ensure(ref _order, n);
        Scratch.Ensure(ref _binOf, n);
        var order = _order.AsSpan(0, n);
        _sorter.Sort(shapes, order);
        var bins = _assigner.Assign(shapes, totals, order, _binOf, Options.SequenceLength, Options.MaxImagesPerPack,
            Options.Delta, out _);
        return _writer.Write(order, _binOf, bins, Options.Shuffle ? _random : null, members, packStarts);
    }
}
