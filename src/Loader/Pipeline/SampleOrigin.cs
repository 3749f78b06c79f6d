using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline;

/// <summary>Where a packed sample came from.</summary>
/// <param name="SourceIndex">Index of its source in the loader's mixture.</param>
/// <param name="Position">Shard and row in that source.</param>
public readonly record struct SampleOrigin(int SourceIndex, RowPosition Position);
