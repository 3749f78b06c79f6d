namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>The packs of one batch, in order, with the loader state after it.</summary>
internal sealed record BatchPlan(long Index, PendingSample[][] Packs, StateSnapshot StateAfter)
{
    public void Return()
    {
        foreach (var p in Packs) foreach (var s in p) s.Return();
    }
}
