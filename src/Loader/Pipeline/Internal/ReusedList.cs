using System.Collections;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A read-only view of the first <see cref="Count"/> items of a grow-only array that is refilled in place
/// (a pack's origins and grids, reused with its slab): reading it by index allocates nothing.</summary>
internal sealed class ReusedList<T> : IReadOnlyList<T>
{
    private T[] _items = [];

    public int Count { get; private set; }

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return _items[index];
        }
    }

    /// <summary>Replaces the items with a copy of <paramref name="items"/>.</summary>
    public void Refill(ReadOnlySpan<T> items)
    {
        if (_items.Length < items.Length) _items = new T[Math.Max(items.Length, 2 * _items.Length)];
        items.CopyTo(_items);
        Count = items.Length;
    }

    /// <summary>The items as a span (for the loader's own loops).</summary>
    public ReadOnlySpan<T> Span => _items.AsSpan(0, Count);

    public IEnumerator<T> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return _items[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
