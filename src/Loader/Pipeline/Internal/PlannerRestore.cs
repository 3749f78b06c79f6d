using NanoVlm.Loader.Sources;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The planner as a saved run left it: the rows of its ready packs and carried samples are read again (only those,
/// by shard and row), shaped again (the same options give the same tokens) and put back in their order.
/// </summary>
internal static class PlannerRestore
{
    // Rows of a shard farther apart than this are read by opening the shard again at the next row rather than reading through.
    private const long MaxGap = 1024;

    public static StreamingPacker Restore(LoaderState state, StreamingPackerOptions options, MixtureSource[] sources,
        CounterSet counters, SampleShaper shaper, Dictionary<long, PendingSample> pending, ref long nextId, CancellationToken ct)
    {
        var origins = state.ReadyPacks.SelectMany(p => p).Concat(state.Carried).ToList();
        var rows = ReadRows(origins, sources, counters, ct);
        var used = new HashSet<SampleOrigin>();
        var shapes = new SampleShape[origins.Count];
        for (var i = 0; i < origins.Count; i++)
        {
            var row = rows[origins[i]];
            if (!used.Add(origins[i])) row = row.Clone(); // the same row from two epochs: each sample owns its buffers
            var sample = shaper.Shape(row)
                ?? throw new DataSourceException(row.ShardName,
                    "no longer gives the sample it gave when the loader state was saved (the data changed)", row.Position.RowGroup, row.Position.Row);
            pending.Add(nextId, sample);
            shapes[i] = new SampleShape(sample.Length + 1, sample.ImageCount, nextId++);
        }
        var ready = new SampleShape[state.ReadyPacks.Count][];
        var at = 0;
        for (var p = 0; p < ready.Length; p++)
        {
            ready[p] = shapes[at..(at + state.ReadyPacks[p].Count)];
            at += ready[p].Length;
        }
        return StreamingPacker.Restore(options, new StreamingPackerState(shapes[at..], ready, state.PlannerDraws));
    }

    /// <summary>Reads the rows at <paramref name="origins"/>, one pass per run of nearby rows of a shard.</summary>
    private static Dictionary<SampleOrigin, OwnedRow> ReadRows(List<SampleOrigin> origins, MixtureSource[] sources,
        CounterSet counters, CancellationToken ct)
    {
        var result = new Dictionary<SampleOrigin, OwnedRow>();
        foreach (var shard in origins.Distinct().GroupBy(o => (o.SourceIndex, o.Position.Shard)))
        {
            var wanted = shard.OrderBy(o => o.Position.Row).ToList();
            var k = 0;
            while (k < wanted.Count)
            {
                var source = sources[shard.Key.SourceIndex].Source;
                var first = k;
                foreach (var row in source.ReadShard(shard.Key.Shard, wanted[k].Position.Row, ct))
                {
                    if (row.Position.Row < wanted[k].Position.Row) continue;
                    if (row.Position.Row > wanted[k].Position.Row) break; // missing: the next pass starts there and fails
                    result[wanted[k]] = OwnedRow.Copy(shard.Key.SourceIndex, row);
                    counters.Row(shard.Key.SourceIndex);
                    if (++k == wanted.Count || wanted[k].Position.Row - row.Position.Row > MaxGap) break;
                }
                if (k == first)
                    throw new DataSourceException(source.Shards[shard.Key.Shard],
                        "the row is gone (the data changed since the loader state was saved)", row: wanted[k].Position.Row);
            }
        }
        return result;
    }
}
