namespace NanoVlm.Packing.Internal;

/// <summary>Turns "bin of each sample" into the CSR plan both planners return.</summary>
internal sealed class PlanWriter
{
    private int[] _cursor = [];
    private int[] _binOrder = [];

    /// <summary>
    /// Writes the packs in bin-creation order (or shuffled like Python's <c>random.shuffle</c> over all bins,
    /// empty ones included, before they are dropped — exactly nanoVLM's order of operations).
    /// Members appear in <paramref name="order"/>, i.e. the order they were put into their bin.
    /// </summary>
    public int Write(ReadOnlySpan<int> order, ReadOnlySpan<int> binOf, int binCount, PythonRandom? shuffle,
        Span<int> members, Span<int> packStarts)
    {
        Scratch.Ensure(ref _cursor, binCount);
        Scratch.Ensure(ref _binOrder, binCount);
        var cursor = _cursor.AsSpan(0, binCount);
        var binOrder = _binOrder.AsSpan(0, binCount);
        cursor.Clear();
        foreach (var item in order) cursor[binOf[item]]++;
        for (var b = 0; b < binCount; b++) binOrder[b] = b;
        shuffle?.Shuffle(binOrder);

        int packs = 0, offset = 0;
        foreach (var b in binOrder)
        {
            var count = cursor[b];
            if (count == 0) continue; // nanoVLM drops the empty +delta bins after shuffling
            packStarts[packs++] = offset;
            cursor[b] = offset;
            offset += count;
        }
        packStarts[packs] = offset;
        foreach (var item in order) members[cursor[binOf[item]]++] = item;
        return packs;
    }
}
