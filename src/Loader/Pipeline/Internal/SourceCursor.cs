using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// This rank's rows of one source over the epochs: the shard order shuffled per epoch with the seed, shards dealt
/// round-robin to the ranks (or rows, when there are fewer shards than ranks). Its <see cref="Position"/> after any
/// row is all it needs to continue from there (<see cref="LoaderState"/> resume opens the shard at that row).
/// </summary>
internal sealed class SourceCursor : IDisposable
{
    private readonly IRowSource _source;
    private readonly int _sourceIndex;
    private readonly DataLoaderOptions _o;
    private readonly CancellationToken _ct;
    private readonly bool _byShard;
    private readonly int? _epochs;
    private int[] _order;
    private SourcePosition _at;
    private IEnumerator<SourceRow>? _rows;

    public SourceCursor(IRowSource source, int sourceIndex, DataLoaderOptions o, SourcePosition? from, CancellationToken ct, int? epochs = null)
    {
        _epochs = epochs ?? o.Epochs;
        _source = source;
        _sourceIndex = sourceIndex;
        _o = o;
        _ct = ct;
        _byShard = source.Shards.Count >= o.WorldSize;
        _at = from ?? new SourcePosition();
        _order = source.Shards.Count == 0 ? [] : ShardOrder(source.Shards.Count, o, sourceIndex, _at.Epoch);
    }

    /// <summary>Where the cursor stands: after the last row returned (or at the start).</summary>
    public SourcePosition Position => _at;

    /// <summary>The next row of this rank; false at the end.</summary>
    public bool TryNext(out SourceRow row)
    {
        while (true)
        {
            _ct.ThrowIfCancellationRequested();
            if (_rows is null)
            {
                var c = _at.ShardCursor;
                while (_byShard && c < _order.Length && c % _o.WorldSize != _o.Rank) c++;
                if (c != _at.ShardCursor) _at = _at with { ShardCursor = c, NextRow = 0 };
                if (c >= _order.Length)
                {
                    // An epoch without a row of this rank would repeat forever: the source has ended.
                    var next = _at.Epoch + 1;
                    if (_order.Length == 0 || !_at.EpochHasRows || _epochs is { } max && next >= max)
                    {
                        row = null!;
                        return false;
                    }
                    _order = ShardOrder(_order.Length, _o, _sourceIndex, next);
                    _at = new SourcePosition { Epoch = next };
                    continue;
                }
                _rows = _source.ReadShard(_order[c], _at.NextRow, _ct).GetEnumerator();
            }
            if (!_rows.MoveNext())
            {
                _rows.Dispose();
                _rows = null;
                _at = _at with { ShardCursor = _at.ShardCursor + 1, NextRow = 0 };
                continue;
            }
            var r = _rows.Current;
            var dealt = _at.RowsDealt;
            _at = _at with { NextRow = r.Position.Row + 1, RowsDealt = dealt + 1 };
            if (!_byShard && dealt % _o.WorldSize != _o.Rank) continue;
            _at = _at with { EpochHasRows = true };
            row = r;
            return true;
        }
    }

    public void Dispose() => _rows?.Dispose();

    /// <summary>The epoch's shard order (the same on every rank).</summary>
    public static int[] ShardOrder(int shards, DataLoaderOptions o, int sourceIndex, int epoch)
    {
        var order = Enumerable.Range(0, shards).ToArray();
        if (o.ShuffleShards) new Random(Mix(o.Seed, sourceIndex, epoch)).Shuffle(order);
        return order;
    }

    /// <summary>A fixed seed mix (HashCode is randomized per process).</summary>
    public static int Mix(int seed, int source, int epoch)
    {
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)source << 32 ^ (uint)epoch;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }
}
