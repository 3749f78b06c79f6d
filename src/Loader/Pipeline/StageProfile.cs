namespace NanoVlm.Loader.Pipeline;

/// <summary>One stage's totals since the loader started.</summary>
/// <param name="Stage">Stage name: read, shape, plan, materialize, consume.</param>
/// <param name="Threads">Threads the stage runs on.</param>
/// <param name="Items">Items processed (rows, samples, packs, batches).</param>
/// <param name="Bytes">Bytes processed (encoded image bytes read, batch bytes written).</param>
/// <param name="Busy">Time spent working, summed over the stage's threads.</param>
/// <param name="BlockedOnInput">Time spent waiting for input, summed over threads.</param>
/// <param name="BlockedOnOutput">Time spent waiting to hand output on (full channel, no free slab).</param>
public readonly record struct StageTiming(string Stage, int Threads, long Items, long Bytes, TimeSpan Busy,
    TimeSpan BlockedOnInput, TimeSpan BlockedOnOutput)
{
    /// <summary>Busy time over (wall time × threads): 1 means the stage never waited.</summary>
    public double Utilization(TimeSpan wall) => wall <= TimeSpan.Zero ? 0 : Busy / (wall * Threads);
}

/// <summary>A snapshot of every stage of a <see cref="DataLoader"/>, with the verdict which one limits throughput.</summary>
/// <param name="Wall">Time since the loader started.</param>
/// <param name="Stages">The stages in flow order; the last, <c>consume</c>, is the caller's time between batches.</param>
public sealed record StageProfile(TimeSpan Wall, IReadOnlyList<StageTiming> Stages)
{
    /// <summary>The stage with the highest utilization: the bottleneck (<c>consume</c> means the loader keeps up).</summary>
    public string Bottleneck =>
        Stages.Count == 0 ? "none" : Stages.MaxBy(s => s.Utilization(Wall)).Stage;
}
