using System.Buffers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>A grow-only, pool-backed list of token ids reused across samples.</summary>
internal sealed class IdSink : IDisposable
{
    private int[] _ids;

    public IdSink(int initialCapacity = 1024) => _ids = ArrayPool<int>.Shared.Rent(initialCapacity);

    public int Count { get; private set; }

    public Span<int> Span => _ids.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Add(int id)
    {
        if (Count == _ids.Length) Grow(Count + 1);
        _ids[Count++] = id;
    }

    public void AddRepeat(int id, int count)
    {
        if (Count + count > _ids.Length) Grow(Count + count);
        _ids.AsSpan(Count, count).Fill(id);
        Count += count;
    }

    public void AddRange(IReadOnlyList<int> ids)
    {
        int n = ids.Count;
        if (Count + n > _ids.Length) Grow(Count + n);
        if (ids is int[] arr) arr.CopyTo(_ids, Count);
        else if (ids is List<int> list) list.CopyTo(_ids, Count);
        else for (int i = 0; i < n; i++) _ids[Count + i] = ids[i];
        Count += n;
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<int>.Shared.Rent(Math.Max(needed, _ids.Length * 2));
        _ids.AsSpan(0, Count).CopyTo(bigger);
        ArrayPool<int>.Shared.Return(_ids);
        _ids = bigger;
    }

    public void Dispose()
    {
        if (_ids.Length > 0) ArrayPool<int>.Shared.Return(_ids);
        _ids = [];
        Count = 0;
    }
}
