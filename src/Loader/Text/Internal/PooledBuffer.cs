using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>A grow-only, pool-backed buffer reused across samples (pending text as chars, token ids as ints).</summary>
internal sealed class PooledBuffer<T> : IDisposable where T : unmanaged
{
    private T[] _items;

    public PooledBuffer(int initialCapacity) => _items = ArrayPool<T>.Shared.Rent(initialCapacity);

    public int Count { get; private set; }

    public Span<T> Span => _items.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Add(T item)
    {
        if (Count == _items.Length) Grow(Count + 1);
        _items[Count++] = item;
    }

    public void Append(ReadOnlySpan<T> items)
    {
        if (Count + items.Length > _items.Length) Grow(Count + items.Length);
        items.CopyTo(_items.AsSpan(Count));
        Count += items.Length;
    }

    public void Append(IReadOnlyList<T> items)
    {
        if (items is T[] array) Append(array.AsSpan());
        else if (items is List<T> list) Append(CollectionsMarshal.AsSpan(list));
        else foreach (var item in items) Add(item);
    }

    public void AddRepeat(T item, int count)
    {
        if (Count + count > _items.Length) Grow(Count + count);
        _items.AsSpan(Count, count).Fill(item);
        Count += count;
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(needed, _items.Length * 2));
        _items.AsSpan(0, Count).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(_items);
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items.Length > 0) ArrayPool<T>.Shared.Return(_items);
        _items = [];
        Count = 0;
    }
}

/// <summary>Formatting into a char buffer without an intermediate string.</summary>
internal static class PooledCharBufferExtensions
{
    public static void AppendInvariant(this PooledBuffer<char> buffer, int value)
    {
        Span<char> digits = stackalloc char[11];
        value.TryFormat(digits, out var n, provider: CultureInfo.InvariantCulture);
        buffer.Append(digits[..n]);
    }
}
