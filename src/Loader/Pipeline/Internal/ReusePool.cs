namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>Objects handed from one stage thread to another and back (rows, samples): rented where they are made,
/// returned wherever they end, so the steady state makes none. Thread-safe.</summary>
internal sealed class ReusePool<T> where T : class
{
    private readonly Stack<T> _free = new();

    public bool TryRent(out T item)
    {
        lock (_free) return _free.TryPop(out item!);
    }

    public void Return(T item)
    {
        lock (_free) _free.Push(item);
    }
}
