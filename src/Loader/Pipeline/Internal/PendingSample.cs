using System.Buffers;
using NanoVlm.Kernels;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A shaped sample waiting for its pack to be materialized: token ids and labels (never re-tokenized), the
/// encoded image bytes (decoded once, by the materialize stage) and the geometry from the image headers.</summary>
internal sealed class PendingSample
{
    public required OwnedRow Row { get; init; }
    public required int[] Ids { get; init; }
    public required int[] Labels { get; init; }
    public required int Length { get; init; }
    public required ImageGeometry[] Geometries { get; init; }

    public SampleOrigin Origin => new(Row.SourceIndex, Row.Row.Position);

    public void Return()
    {
        ArrayPool<int>.Shared.Return(Ids);
        ArrayPool<int>.Shared.Return(Labels);
        Row.ReturnBuffers();
    }
}
