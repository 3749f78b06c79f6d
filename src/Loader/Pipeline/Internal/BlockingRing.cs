using System.Threading.Tasks.Sources;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// A bounded single-producer/single-consumer queue between two stage threads that block on it (a monitor, no
/// tasks): unlike a bounded <see cref="System.Threading.Channels.Channel{T}"/>, whose every wait on a full or empty
/// channel with a cancellable token allocates an operation object (and a task to block on it), a wait here allocates
/// nothing. An asynchronous reader waits with <see cref="WaitToReadAsync"/> on one reused value-task source. Cancelling
/// the token given at creation wakes every waiter, which then throws <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class BlockingRing<T> : IValueTaskSource<bool> where T : class
{
    private readonly T?[] _items;
    private readonly CancellationToken _ct;
    private int _head, _count;
    private bool _completed;
    private Exception? _error;
    // The asynchronous reader's wait: continuations run on the thread pool, never on the writer's thread.
    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = true };
    private bool _asyncWaiting;
    private CancellationTokenRegistration _waiterCancel;

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
            if (_count == 1) WakeReadersLocked();
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
            if (_count == 1) WakeReadersLocked();
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
            WakeReadersLocked();
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
        lock (Gate) WakeReadersLocked();
    }

    private void WakeReadersLocked()
    {
        Monitor.PulseAll(Gate);
        if (!_asyncWaiting) return;
        _asyncWaiting = false;
        _waiter.SetResult(true);
    }

    /// <summary>
    /// Waits asynchronously until the ring may have an item: true to look again (<see cref="TryRead"/>; a wake-up may
    /// find it empty, e.g. after <paramref name="cancellationToken"/> was cancelled, which the caller checks), false once
    /// the ring is completed and empty. One asynchronous reader at a time; a wait allocates nothing (the registration on
    /// a cancellable <paramref name="cancellationToken"/> reuses the token source's nodes).
    /// </summary>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    /// <exception cref="Exception">The exception the producer completed the ring with, once it is empty.</exception>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        lock (Gate)
        {
            if (_ct.IsCancellationRequested) return ValueTask.FromCanceled<bool>(_ct);
            if (_count > 0) return new ValueTask<bool>(true);
            if (_completed) return _error is { } e ? ValueTask.FromException<bool>(e) : new ValueTask<bool>(false);
            if (cancellationToken.IsCancellationRequested) return new ValueTask<bool>(true);
            if (_asyncWaiting) throw new InvalidOperationException("Another asynchronous read is waiting on this ring.");
            _waiter.Reset();
            _asyncWaiting = true;
        }
        // Registered outside the lock (a registration on a token cancelled meanwhile runs the callback at once, which
        // takes the lock); disposed in GetResult, which the caller reaches only after this method returned.
        if (cancellationToken.CanBeCanceled)
            _waiterCancel = cancellationToken.UnsafeRegister(static s => ((BlockingRing<T>)s!).Wake(), this);
        return new ValueTask<bool>(this, _waiter.Version);
    }

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        _waiterCancel.Dispose();
        _waiterCancel = default;
        return _waiter.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _waiter.OnCompleted(continuation, state, token, flags);
}
