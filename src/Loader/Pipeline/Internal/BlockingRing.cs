namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// A bounded single-producer/single-consumer queue between two stage threads that block on it (a monitor, no
/// tasks): unlike a bounded <see cref="System.Threading.Channels.Channel{T}"/>, whose every wait on a full or empty
/// channel allocates an operation object, a wait here allocates nothing. Cancelling the token given at creation
/// wakes every waiter, which then throws <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class BlockingRing<T> where T : class
{
    private readonly T?[] _items;
    private readonly CancellationToken _ct;
    private int _head, _count;
    private bool _completed;
    private Exception? _error;

    public BlockingRing(int capacity, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new T?[capacity];
        _ct = ct;
        // Registered once: a cancelled run wakes the thread waiting here.
        ct.UnsafeRegister(static s => ((BlockingRing<T>)s!).Wake(), this);
    }

    private object Gate => _items;

    /// <summary>Adds <paramref name="item"/> if there is room now.</summary>
    /// <exception cref="InvalidOperationException">The ring was completed.</exception>
    public bool TryWrite(T item)
    {
        lock (Gate)
        {
            if (_completed) throw new InvalidOperationException("The ring was completed.");
            if (_count == _items.Length) return false;
            _items[(_head + _count++) % _items.Length] = item;
            if (_count == 1) Monitor.PulseAll(Gate);
            return true;
        }
    }

    /// <summary>Adds <paramref name="item"/>, waiting for room.</summary>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public void Write(T item)
    {
        lock (Gate)
        {
            while (_count == _items.Length && !_completed)
            {
                _ct.ThrowIfCancellationRequested();
                Monitor.Wait(Gate);
            }
            _ct.ThrowIfCancellationRequested();
            if (_completed) throw new InvalidOperationException("The ring was completed.");
            _items[(_head + _count++) % _items.Length] = item;
            if (_count == 1) Monitor.PulseAll(Gate);
        }
    }

    /// <summary>Takes the next item if there is one now.</summary>
    public bool TryRead(out T item)
    {
        lock (Gate) return TakeLocked(out item);
    }

    /// <summary>Takes the next item, waiting for one; false once the ring is completed and empty.</summary>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    /// <exception cref="Exception">The exception the producer completed the ring with, once it is empty.</exception>
    public bool Read(out T item)
    {
        lock (Gate)
        {
            while (true)
            {
                _ct.ThrowIfCancellationRequested();
                if (TakeLocked(out item)) return true;
                if (_completed)
                {
                    if (_error is { } e) throw e;
                    return false;
                }
                Monitor.Wait(Gate);
            }
        }
    }

    /// <summary>No more items: the reader gets the rest, then false (or <paramref name="error"/> thrown).</summary>
    public void Complete(Exception? error = null)
    {
        lock (Gate)
        {
            if (_completed) return;
            _completed = true;
            _error = error;
            Monitor.PulseAll(Gate);
        }
    }

    private bool TakeLocked(out T item)
    {
        if (_count == 0)
        {
            item = null!;
            return false;
        }
        item = _items[_head]!;
        _items[_head] = null;
        _head = (_head + 1) % _items.Length;
        if (_count-- == _items.Length) Monitor.PulseAll(Gate);
        return true;
    }

    private void Wake()
    {
        lock (Gate) Monitor.PulseAll(Gate);
    }
}
