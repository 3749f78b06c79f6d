namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// <see cref="DataLoaderOptions.BatchSize"/> packed sequences (fewer at the very end of a finite run), each in its own
/// pinned slab. The batch owns the slabs: <see cref="Dispose"/> returns them to the loader's pool (a second dispose is
/// ignored); views taken from it are invalid afterwards. Not disposing batches stalls the loader (back-pressure).
/// </summary>
public sealed class Batch : IDisposable
{
    private readonly PackedSequence[] _packs;
    private readonly Action<PackedSequence[]> _release;
    private int _disposed;

    internal Batch(long index, PackedSequence[] packs, LoaderState stateAfter, Action<PackedSequence[]> release)
    {
        Index = index;
        _packs = packs;
        StateAfter = stateAfter;
        _release = release;
    }

    /// <summary>0-based index of the batch in the run (continuing after a resume).</summary>
    public long Index { get; }

    /// <summary>The packed sequences.</summary>
    public IReadOnlyList<PackedSequence> Packs => _packs;

    /// <summary>The loader state right after this batch: pass it to a new <see cref="DataLoader"/> to continue with
    /// exactly the batches that follow.</summary>
    public LoaderState StateAfter { get; }

    /// <summary>Samples in the batch.</summary>
    public int Samples => _packs.Sum(p => p.SampleCount);

    /// <summary>Real tokens in the batch.</summary>
    public long Tokens => _packs.Sum(p => (long)p.Tokens);

    /// <summary>Images in the batch.</summary>
    public int Images => _packs.Sum(p => p.ImageGrids.Count);

    /// <summary>Bytes of data in the batch.</summary>
    public long Bytes => _packs.Sum(p => p.Bytes);

    /// <summary>Returns the slabs to the pool.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _release(_packs);
    }
}
