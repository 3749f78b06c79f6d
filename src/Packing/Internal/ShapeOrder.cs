namespace NanoVlm.Packing.Internal;

/// <summary>
/// Sample indices sorted by length descending, ties in input order — Python's
/// <c>sorted(..., key=len, reverse=True)</c>, which is stable.
/// </summary>
internal sealed class ShapeOrder
{
    private long[] _keys = [];

    /// <summary>Writes the order into <paramref name="order"/> (length = shapes.Length).</summary>
    public void Sort(ReadOnlySpan<SampleShape> shapes, Span<int> order)
    {
        var n = shapes.Length;
        Scratch.Ensure(ref _keys, n);
        var keys = _keys.AsSpan(0, n);
        // One 64-bit key per sample: high word = inverted length, low word = index. Keys are unique, so the
        // (unstable, allocation-free) introsort yields exactly the stable descending order.
        for (var i = 0; i < n; i++)
            keys[i] = ((long)(int.MaxValue - shapes[i].Length) << 32) | (uint)i;
        keys.Sort();
        for (var i = 0; i < n; i++)
            order[i] = (int)(keys[i] & 0xFFFF_FFFF);
    }
}
