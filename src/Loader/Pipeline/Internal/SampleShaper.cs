using System.Buffers;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The shape step: a row becomes a sample of known shape (token ids, labels and every image's tile grid, from the
/// image headers alone) or is dropped with its reason. Nothing is decoded here; the ids are never computed again.
/// </summary>
internal sealed class SampleShaper : IDisposable
{
    private readonly DataLoaderOptions _o;
    private readonly SamplePreparer _preparer;
    private readonly ImagePreprocessor _probe;
    private readonly CounterSet _counters;
    private readonly ImageFailurePolicy _imageFailures;
    private readonly ReusePool<PendingSample> _samples = new();
    // Up to 1,024 arrays of a size kept (ArrayPool.Shared keeps a few dozen per core and drops the rest).
    private readonly ArrayPool<int> _tokens = ArrayPool<int>.Create(1 << 20, 1024);
    private ImageGeometry[] _geometries = [];

    public SampleShaper(DataLoaderOptions options, VlmTokenizer tokenizer, CounterSet counters, ImageFailurePolicy imageFailures)
    {
        _o = options;
        _preparer = new SamplePreparer(tokenizer, new SamplePreparerOptions { QualityFilter = options.QualityFilter, ImageTokenLength = options.ImageTokenLength });
        _probe = new ImagePreprocessor(options.Images);
        _counters = counters;
        _imageFailures = imageFailures;
    }

    /// <summary>The sample of <paramref name="row"/>, or null when it is dropped (its
    /// buffers returned and the drop counted).</summary>
    public PendingSample? Shape(OwnedRow row)
    {
        var images = row.ImageCount;
        if (images > _o.MaxImagesPerExample || images > _o.MaxImagesPerKnapsack) return Drop(row, DropReason.TooManyImages);
        if (_geometries.Length < images) _geometries = new ImageGeometry[images];
        var geometries = _geometries;
        Span<ImageGrid> grids = images <= 16 ? stackalloc ImageGrid[images] : new ImageGrid[images];
        for (var i = 0; i < images; i++)
        {
            try
            {
                geometries[i] = _probe.Plan(row.Image(i), OwnedRow.UnnamedImage);
            }
            catch (ImageDecodeException e)
            {
                try { _imageFailures.SampleFailed(row, i, e.Renamed(row.ImageName(i))); }
                finally { row.ReturnBuffers(); }
                return null;
            }
            var g = geometries[i].Grid;
            grids[i] = new ImageGrid(g.Rows, g.Cols);
        }
        var r = _preparer.Prepare(row.Text, grids);
        if (!r.Ok)
            return Drop(row, r.DropReason == TextDropReason.AllTurnsFilteredByRating ? DropReason.Rating : DropReason.Empty);
        if (r.Length >= _o.MaxSampleLength || r.Length + 1 > _o.LmMaxLength) return Drop(row, DropReason.TooLong);
        var cur = _preparer.Current;
        return PendingSample.Rent(_samples, _tokens, row, cur.InputIds, cur.Labels, geometries.AsSpan(0, images));
    }

    private PendingSample? Drop(OwnedRow row, DropReason reason)
    {
        _counters.Drop(reason);
        row.ReturnBuffers();
        return null;
    }

    /// <summary>Adds the preparer's count of image tokens removed from the text to the loader's counters.</summary>
    public void Dispose()
    {
        _counters.ImageTokensRemoved(_preparer.Counters.ImageTokensRemoved);
        _preparer.Dispose();
    }
}
