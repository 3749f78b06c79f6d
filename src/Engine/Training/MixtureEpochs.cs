using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Engine.Training;

/// <summary>
/// Epochs a run has completed over its training mixture, from the loader's state: within a stage, an epoch ends when
/// its slowest source's does (every source read through at least once); a stage whose sources all ended adds its
/// epochs and hands over to the next one. With one stage this is the minimum epoch over the sources.
/// </summary>
public static class MixtureEpochs
{
    /// <summary>The completed epochs.</summary>
    /// <param name="state">The loader's state after a batch.</param>
    /// <param name="stages">Each source's stage, by mixture index (null: all in stage 0).</param>
    /// <returns>Epochs completed, monotone over a run.</returns>
    public static int Completed(LoaderState state, IReadOnlyList<int>? stages = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var sources = state.Sources;
        if (sources.Count == 0) return 0;
        int StageOf(int i) => stages is not null && i < stages.Count ? stages[i] : 0;
        int total = 0;
        foreach (var stage in Enumerable.Range(0, sources.Count).Select(StageOf).Distinct().Order())
        {
            var members = Enumerable.Range(0, sources.Count).Where(i => StageOf(i) == stage).Select(i => sources[i]).ToList();
            total += members.Min(p => p.Ended ? p.Epoch + 1 : p.Epoch);
            if (!members.All(p => p.Ended)) break;
        }
        return total;
    }
}
