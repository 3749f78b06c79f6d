using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>This rank's rows of one source over the epochs: the shard order shuffled per epoch with the seed, shards
/// dealt round-robin to the ranks (or rows, when there are fewer shards than ranks).</summary>
internal static class RowStream
{
    public static IEnumerable<(SourceRow Row, int Epoch, int Cursor)> Enumerate(IRowSource source, int sourceIndex,
        DataLoaderOptions o, CancellationToken ct)
    {
        var shards = source.Shards.Count;
        if (shards == 0) yield break;
        var byShard = shards >= o.WorldSize;
        for (var epoch = 0; o.Epochs is not { } max || epoch < max; epoch++)
        {
            var order = ShardOrder(shards, o, sourceIndex, epoch);
            long k = 0;
            var any = false;
            for (var c = 0; c < order.Length; c++)
            {
                if (byShard && c % o.WorldSize != o.Rank) continue;
                foreach (var row in source.ReadShard(order[c], 0, ct))
                {
                    if (!byShard && k++ % o.WorldSize != o.Rank) continue;
                    any = true;
                    yield return (row, epoch, c);
                }
            }
            if (!any) yield break; // an empty epoch would repeat forever
        }
    }

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
