namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The packs of one batch, in order, with the loader state after it. Rented by the plan stage while it gathers a
/// batch and given back by <see cref="Return"/> (with its samples) once the batch is materialized or dropped, so its
/// lists are reused and the steady state makes none.
/// </summary>
internal sealed class BatchPlan
{
    private readonly ReusePool<BatchPlan> _pool;
    private readonly List<List<PendingSample>> _packs = [];

    private BatchPlan(ReusePool<BatchPlan> pool) => _pool = pool;

    /// <summary>0-based index of the batch in the run.</summary>
    public long Index { get; private set; }

    /// <summary>Packs gathered so far.</summary>
    public int PackCount { get; private set; }

    /// <summary>The loader state right after this batch (handed on to the <see cref="Batch"/>, which returns it).</summary>
    public StateSnapshot StateAfter { get; private set; } = null!;

    /// <summary>The samples of pack <paramref name="index"/>, in order.</summary>
    public List<PendingSample> Pack(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)PackCount, nameof(index));
        return _packs[index];
    }

    /// <summary>An empty plan from <paramref name="pool"/> (or a new one).</summary>
    public static BatchPlan Rent(ReusePool<BatchPlan> pool) => pool.TryRent(out var plan) ? plan : new BatchPlan(pool);

    /// <summary>Starts the next pack: an empty list to add its samples to.</summary>
    public List<PendingSample> AddPack()
    {
        if (PackCount == _packs.Count) _packs.Add([]);
        return _packs[PackCount++];
    }

    /// <summary>Completes the plan as batch <paramref name="index"/> with the state after it.</summary>
    public void Seal(long index, StateSnapshot stateAfter)
    {
        Index = index;
        StateAfter = stateAfter;
    }

    /// <summary>Returns every sample (with its row) and the plan to its pool; the state is not the plan's to return.</summary>
    public void Return()
    {
        for (var p = 0; p < PackCount; p++)
        {
            foreach (var s in _packs[p]) s.Return();
            _packs[p].Clear();
        }
        PackCount = 0;
        StateAfter = null!;
        _pool.Return(this);
    }
}
