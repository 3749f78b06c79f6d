using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The loader state after one batch in reused arrays: what <see cref="LoaderState"/> holds, taken by the plan stage
/// for every batch, but turned into a <see cref="LoaderState"/> (and its lists) only when the consumer reads
/// <see cref="Batch.StateAfter"/>. Rented from and returned to a <see cref="StateSnapshotPool"/>, so that a run whose
/// consumer does not read every state allocates nothing for it.
/// </summary>
internal sealed class StateSnapshot(StateSnapshotPool pool)
{
    private SourcePosition[] _sources = [];
    private SampleOrigin[] _carried = [];
    private SampleOrigin[] _readyMembers = [];
    private int[] _readyStarts = [0];
    private int _sourceCount, _carriedCount, _readyCount;
    private long _batchesEmitted, _rowsRead, _plannerDraws;
    private ulong _mixtureRandom;
    private int _stage;
    private string _fingerprint = "";

    /// <summary>Records the state after batch <paramref name="batchIndex"/>: the positions and the planner's
    /// buffered samples and ready packs, named by their rows.</summary>
    public void Fill(long batchIndex, long rowsRead, ReadOnlySpan<SourcePosition> sources, ulong mixtureRandom, int stage,
        StreamingPacker planner, Dictionary<long, PendingSample> pending, string fingerprint)
    {
        _batchesEmitted = batchIndex + 1;
        _rowsRead = rowsRead;
        _mixtureRandom = mixtureRandom;
        _stage = stage;
        _fingerprint = fingerprint;
        _plannerDraws = planner.PlannerDraws;
        Ensure(ref _sources, sources.Length);
        sources.CopyTo(_sources);
        _sourceCount = sources.Length;

        var buffered = planner.Buffered;
        Ensure(ref _carried, buffered.Length);
        for (var i = 0; i < buffered.Length; i++) _carried[i] = pending[buffered[i].Id].Origin;
        _carriedCount = buffered.Length;

        _readyCount = planner.ReadyPacks;
        Ensure(ref _readyStarts, _readyCount + 1);
        var members = 0;
        for (var p = 0; p < _readyCount; p++)
        {
            var pack = planner.ReadyPack(p);
            Ensure(ref _readyMembers, members + pack.Length);
            foreach (var s in pack) _readyMembers[members++] = pending[s.Id].Origin;
            _readyStarts[p + 1] = members;
        }
    }

    /// <summary>The state as the public, immutable record (allocates it).</summary>
    public LoaderState ToLoaderState() => new()
    {
        BatchesEmitted = _batchesEmitted,
        RowsRead = _rowsRead,
        Sources = _sources.AsSpan(0, _sourceCount).ToArray(),
        MixtureRandom = _mixtureRandom,
        Stage = _stage,
        Carried = _carried.AsSpan(0, _carriedCount).ToArray(),
        ReadyPacks = ReadyPacks(),
        PlannerDraws = _plannerDraws,
        Fingerprint = _fingerprint,
    };

    private IReadOnlyList<SampleOrigin>[] ReadyPacks()
    {
        var packs = new IReadOnlyList<SampleOrigin>[_readyCount];
        for (var p = 0; p < packs.Length; p++)
            packs[p] = _readyMembers.AsSpan(_readyStarts[p], _readyStarts[p + 1] - _readyStarts[p]).ToArray();
        return packs;
    }

    /// <summary>Hands the snapshot back for another batch.</summary>
    public void Return() => pool.Return(this);

    // Grows keeping the contents (the ready packs' members are appended pack by pack).
    private static void Ensure<T>(ref T[] array, int length)
    {
        if (array.Length < length) Array.Resize(ref array, Math.Max(length, array.Length * 2));
    }
}

/// <summary>The snapshots of the batches in flight (a handful: plans queued, batches built, the consumer's).</summary>
internal sealed class StateSnapshotPool
{
    private readonly Stack<StateSnapshot> _free = new();

    public StateSnapshot Rent()
    {
        lock (_free) return _free.TryPop(out var s) ? s : new StateSnapshot(this);
    }

    public void Return(StateSnapshot snapshot)
    {
        lock (_free) _free.Push(snapshot);
    }
}
