using System.Buffers;
using NanoVlm.Kernels;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A shaped sample waiting for its pack to be materialized: token ids and labels (never re-tokenized), the
/// encoded image bytes (decoded once, by the materialize stage) and the geometry from the image headers. Made by
/// <see cref="Rent"/> and given back by <see cref="Return"/> (with its row) once its pack is built or dropped.</summary>
internal sealed class PendingSample
{
    private readonly ReusePool<PendingSample> _pool;
    private readonly ArrayPool<int> _tokens;
    private ImageGeometry[] _geometries = [];

    private PendingSample(ReusePool<PendingSample> pool, ArrayPool<int> tokens) => (_pool, _tokens) = (pool, tokens);

    public OwnedRow Row { get; private set; } = null!;
    public int[] Ids { get; private set; } = [];
    public int[] Labels { get; private set; } = [];
    public int Length { get; private set; }

    /// <summary>Images of the sample (entries of <see cref="Geometries"/>).</summary>
    public int ImageCount { get; private set; }

    /// <summary>Every image's geometry from its header, in order.</summary>
    public ReadOnlySpan<ImageGeometry> Geometries => _geometries.AsSpan(0, ImageCount);

    public SampleOrigin Origin => new(Row.SourceIndex, Row.Position);

    /// <summary>A sample over <paramref name="row"/> with copies of <paramref name="ids"/> and <paramref name="labels"/>
    /// (in arrays of <paramref name="tokens"/>, a pool that keeps what comes back: the planner's window holds more
    /// samples than <see cref="ArrayPool{T}.Shared"/> keeps per size, and they are returned on other threads) and of
    /// <paramref name="geometries"/>.</summary>
    public static PendingSample Rent(ReusePool<PendingSample> pool, ArrayPool<int> tokens, OwnedRow row, ReadOnlySpan<int> ids,
        ReadOnlySpan<int> labels, ReadOnlySpan<ImageGeometry> geometries)
    {
        var s = pool.TryRent(out var reused) ? reused : new PendingSample(pool, tokens);
        s.Row = row;
        s.Ids = tokens.Rent(ids.Length);
        s.Labels = tokens.Rent(labels.Length);
        ids.CopyTo(s.Ids);
        labels.CopyTo(s.Labels);
        s.Length = ids.Length;
        if (s._geometries.Length < geometries.Length) s._geometries = new ImageGeometry[geometries.Length];
        geometries.CopyTo(s._geometries);
        s.ImageCount = geometries.Length;
        return s;
    }

    public void Return()
    {
        if (Row is null) return; // returned already
        _tokens.Return(Ids);
        _tokens.Return(Labels);
        Row.ReturnBuffers();
        Ids = Labels = [];
        Array.Clear(_geometries, 0, ImageCount);
        ImageCount = 0;
        Row = null!;
        _pool.Return(this);
    }
}
