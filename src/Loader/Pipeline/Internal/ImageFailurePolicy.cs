using NanoVlm.Loader.Images;
using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// What becomes of a sample one of whose images cannot be read, wherever that is found out (the header probe of the
/// shape stage or the decode of the materialize stage): under <see cref="DataLoaderOptions.StrictImages"/> the run
/// fails with a <see cref="DataSourceException"/> naming shard, row and image; otherwise the sample is dropped,
/// counted (<see cref="DropReason.DecodeLimit"/> for an image over the size limits, else
/// <see cref="DropReason.CorruptImage"/>) and reported through the loader's log with shard and row.
/// </summary>
internal sealed class ImageFailurePolicy(bool strict, CounterSet counters, Action<string>? log)
{
    /// <summary>Throws (strict) or counts and logs the dropped sample. The caller releases the sample's buffers.</summary>
    public void SampleFailed(OwnedRow row, int image, ImageDecodeException e)
    {
        if (strict)
            throw new DataSourceException(row.ShardName, $"image {image} cannot be decoded ({e.Reason}): {e.Message}",
                row.Position.RowGroup, row.Position.Row, "images", e);
        log?.Invoke($"dropped sample {row.ShardName} row {row.Position.Row}: image {image}: {e.Message}");
        counters.Drop(e.Reason == ImageDecodeFailure.TooLarge ? DropReason.DecodeLimit : DropReason.CorruptImage);
    }
}
