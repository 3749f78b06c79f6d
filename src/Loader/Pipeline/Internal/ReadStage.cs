using System.Diagnostics;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The read stage: draws each row's source of the mixture with the seeded random stream (in proportion to the weights
/// of the lowest stage that still has rows), copies the row (texts, ratings, image bytes: the source's row is valid only
/// until its enumerator moves on) into a pooled <see cref="OwnedRow"/> and hands that, with the read position after it,
/// to the shape stage.
/// </summary>
internal sealed class ReadStage(MixtureSource[] sources, DataLoaderOptions options, LoaderState? resume, CounterSet counters,
    StageMeter meter, BlockingRing<OwnedRow> writer, PipelineFault fault)
{
    /// <summary>The mixture's random state before its first draw.</summary>
    // The rows in flight come back here when their sample is done (or dropped).
    private readonly OwnedRowPool _rows = new();

    public static ulong InitialMixtureRandom(DataLoaderOptions options) => (ulong)SourceCursor.Mix(options.Seed, -1, 0);

    /// <summary>Runs on its own thread (blocking on the ring: no task or await per row) until the sources end.</summary>
    public void Run(CancellationToken ct)
    {
        try
        {
            var cursors = sources.Select((s, i) => new SourceCursor(s.Source, i, options, resume?.Sources[i], ct, s.Epochs)).ToList();
            var rng = new MixtureRandom(resume?.MixtureRandom ?? InitialMixtureRandom(options));
            try
            {
                // Copied on write: every row keeps the snapshot that was current when it was read.
                var ended = resume?.Sources.Select(p => p.Ended).ToArray() ?? new bool[cursors.Count];
                var active = NextStage(ended);
                while (active.Count > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    var busy = Stopwatch.GetTimestamp();
                    var pick = active.Count == 1 ? 0 : Choose(ref rng, active);
                    var s = active[pick];
                    if (!cursors[s].TryNext(out var row))
                    {
                        ended = (bool[])ended.Clone();
                        ended[s] = true;
                        active.RemoveAt(pick);
                        if (active.Count == 0) active = NextStage(ended);
                        meter.Busy(busy);
                        continue;
                    }
                    var owned = OwnedRow.Copy(s, row, cursors[s].Position, rng.State, ended, _rows);
                    counters.Row(s);
                    meter.Item(owned.ImageBytes);
                    meter.Busy(busy);
                    var blocked = Stopwatch.GetTimestamp();
                    if (!writer.TryWrite(owned))
                    {
                        try { writer.Write(owned); }
                        catch { owned.ReturnBuffers(); throw; }
                    }
                    meter.BlockedOut(blocked);
                }
            }
            finally
            {
                foreach (var c in cursors) c.Dispose();
            }
            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
            fault.Report(e);
        }
    }

    /// <summary>The sources of the lowest stage that still has a source not ended; empty when all have ended.</summary>
    private List<int> NextStage(bool[] ended)
    {
        var open = Enumerable.Range(0, sources.Length).Where(i => !ended[i]).ToList();
        if (open.Count == 0) return open;
        var stage = open.Min(i => sources[i].Stage);
        return open.FindAll(i => sources[i].Stage == stage);
    }

    private int Choose(ref MixtureRandom rng, List<int> active)
    {
        double total = 0;
        foreach (var i in active) total += sources[i].Weight;
        var x = rng.NextDouble() * total;
        for (var k = 0; k < active.Count; k++)
        {
            x -= sources[active[k]].Weight;
            if (x < 0) return k;
        }
        return active.Count - 1;
    }
}
