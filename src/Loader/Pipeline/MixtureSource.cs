using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline;

/// <summary>One source of a mixture and its sampling weight (e.g. business 10, general 1).</summary>
/// <param name="Source">The rows (not owned by the loader).</param>
/// <param name="Weight">Relative sampling weight, &gt; 0.</param>
public sealed record MixtureSource(IRowSource Source, double Weight);
