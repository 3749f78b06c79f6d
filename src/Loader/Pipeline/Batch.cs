using NanoVlm.Loader.Pipeline.Internal;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// <see cref="DataLoaderOptions.BatchSize"/> packed sequences (fewer at the very end of a finite run), each in its own
/// pinned slab. The batch owns the slabs: <see cref="Dispose"/> returns them to the loader's pool (a second dispose is
/// ignored); views taken from it are invalid afterwards, and its <see cref="PackedSequence"/> objects, which belong to
/// their slabs, describe later packs. Not disposing batches stalls the loader (back-pressure).
/// </summary>
public sealed class Batch : IDisposable
{
    private readonly PackedSequence[] _packs;
    private readonly Action<PackedSequence[]> _release;
    private readonly StateSnapshot _snapshot;
    private LoaderState? _stateAfter;
    private int _disposed;

    internal Batch(long index, PackedSequence[] packs, StateSnapshot stateAfter, Action<PackedSequence[]> release)
    {
        Index = index;
        _packs = packs;
        _snapshot = stateAfter;
        _release = release;
    }

    /// <summary>0-based index of the batch in the run (continuing after a resume).</summary>
    public long Index { get; }

    /// <summary>The packed sequences.</summary>
    public IReadOnlyList<PackedSequence> Packs => _packs;

    /// <summary>The loader state right after this batch: pass it to a new <see cref="DataLoader"/> to continue with
    /// exactly the batches that follow. Built on first read (a run that never reads it allocates nothing for it) and
    /// the same object afterwards, also after <see cref="Dispose"/>.</summary>
    /// <exception cref="ObjectDisposedException">Read for the first time after <see cref="Dispose"/>: read it before.</exception>
    public LoaderState StateAfter
    {
        get
        {
            if (Volatile.Read(ref _stateAfter) is { } state) return state;
            lock (_snapshot)
            {
                if (_stateAfter is null)
                {
                    ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                    _stateAfter = _snapshot.ToLoaderState();
                }
                return _stateAfter;
            }
        }
    }

    /// <summary>Samples in the batch.</summary>
    public int Samples => (int)Sum(static p => p.SampleCount);

    /// <summary>Real tokens in the batch.</summary>
    public long Tokens => Sum(static p => p.Tokens);

    /// <summary>Images in the batch.</summary>
    public int Images => (int)Sum(static p => p.ImageGrids.Count);

    /// <summary>Bytes of data in the batch.</summary>
    public long Bytes => Sum(static p => p.Bytes);

    // A loop, not LINQ: no enumerator per read (the static lambda is cached).
    private long Sum(Func<PackedSequence, long> of)
    {
        long n = 0;
        foreach (var p in _packs) n += of(p);
        return n;
    }

    /// <summary>Returns the slabs to the pool.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _release(_packs);
        lock (_snapshot) _snapshot.Return();
    }
}
