namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>The mutable, thread-safe counters behind <see cref="LoaderCounters"/>.</summary>
internal sealed class CounterSet
{
    private readonly long[] _rowsPerSource;
    private readonly long[] _emittedPerSource;
    private readonly long[] _dropped = new long[Enum.GetValues<DropReason>().Length];
    private long _batches, _packs, _tokens, _images, _tiles, _bytes, _imageTokensRemoved;

    public CounterSet(int sources)
    {
        _rowsPerSource = new long[sources];
        _emittedPerSource = new long[sources];
    }

    public void Row(int source) => Interlocked.Increment(ref _rowsPerSource[source]);
    public void Drop(DropReason reason) => Interlocked.Increment(ref _dropped[(int)reason]);
    public void Emitted(int source) => Interlocked.Increment(ref _emittedPerSource[source]);
    public void ImageTokensRemoved(long n) => Interlocked.Add(ref _imageTokensRemoved, n);

    public void Batch(int packs, long tokens, long images, long tiles, long bytes)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _packs, packs);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _images, images);
        Interlocked.Add(ref _tiles, tiles);
        Interlocked.Add(ref _bytes, bytes);
    }

    public LoaderCounters Snapshot(int sequenceLength)
    {
        // Read emitted before rows so a concurrent update never shows a negative in-flight count.
        var emitted = _emittedPerSource.Select(v => Interlocked.Read(ref v)).ToArray();
        var dropped = _dropped.Select(v => Interlocked.Read(ref v)).ToArray();
        var rows = _rowsPerSource.Select(v => Interlocked.Read(ref v)).ToArray();
        return new LoaderCounters
        {
            RowsRead = rows.Sum(),
            RowsPerSource = rows,
            EmittedPerSource = emitted,
            SamplesEmitted = emitted.Sum(),
            DroppedByReason = dropped,
            Batches = Interlocked.Read(ref _batches),
            Packs = Interlocked.Read(ref _packs),
            Tokens = Interlocked.Read(ref _tokens),
            Images = Interlocked.Read(ref _images),
            Tiles = Interlocked.Read(ref _tiles),
            Bytes = Interlocked.Read(ref _bytes),
            ImageTokensRemoved = Interlocked.Read(ref _imageTokensRemoved),
            SequenceLength = sequenceLength,
        };
    }
}
