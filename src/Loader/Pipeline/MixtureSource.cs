using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline;

/// <summary>One source of a mixture and its sampling weight (e.g. business 10, general 1).</summary>
/// <param name="Source">The rows (not owned by the loader).</param>
/// <param name="Weight">Relative sampling weight within its <see cref="Stage"/>, &gt; 0.</param>
public sealed record MixtureSource(IRowSource Source, double Weight)
{
    /// <summary>
    /// The training stage, ≥ 0 (default 0). Stages run in ascending order: the sources of a stage are mixed by weight
    /// until all of them end, then the next stage starts — e.g. a large, noisier set first and a small high-quality one
    /// after it. The planner is flushed between stages, so no packed sequence mixes two stages (the batch at the
    /// boundary may hold sequences of both). A stage whose sources never end (<see cref="DataLoaderOptions.Epochs"/>
    /// null) never hands over.
    /// </summary>
    public int Stage { get; init; }

    /// <summary>
    /// Passes over this source, &gt; 0, or null for the loader's <see cref="DataLoaderOptions.Epochs"/> (the default).
    /// Lets a stage end while a later one repeats: e.g. one pass over a first-stage set, then the last stage until the
    /// run stops.
    /// </summary>
    public int? Epochs { get; init; }
}
