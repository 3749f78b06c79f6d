using System.Buffers;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A row read from a source, its image bytes copied into pooled arrays (the row's buffers are reused).
/// Rows made with a <see cref="ReusePool{T}"/> go back to it with <see cref="ReturnBuffers"/>, their arrays kept.</summary>
internal sealed class OwnedRow
{
    private readonly ReusePool<OwnedRow>? _pool;
    private byte[][] _buffers = [];
    private int[] _lengths = [];
    private bool _live;

    private OwnedRow(ReusePool<OwnedRow>? pool) => _pool = pool;

    public int SourceIndex { get; private set; }

    public Sources.SourceRow Row { get; private set; } = null!;

    /// <summary>Images of the row.</summary>
    public int ImageCount { get; private set; }

    /// <summary>The read stage right after this row: its source's position, the mixture's random state and which
    /// sources had ended (a shared snapshot, replaced when a source ends) — what a <see cref="LoaderState"/> saved
    /// after consuming this row records.</summary>
    public SourcePosition After { get; private set; }

    public ulong MixtureRandom { get; private set; }

    public bool[] Ended { get; private set; } = [];

    /// <summary>The row with its image bytes copied into pooled arrays; from <paramref name="pool"/> when one is given.</summary>
    public static OwnedRow Copy(int source, Sources.SourceRow row, SourcePosition after = default, ulong mixtureRandom = 0,
        bool[]? ended = null, ReusePool<OwnedRow>? pool = null)
    {
        var owned = pool is not null && pool.TryRent(out var reused) ? reused : new OwnedRow(pool);
        owned.SourceIndex = source;
        owned.Row = row;
        owned.After = after;
        owned.MixtureRandom = mixtureRandom;
        owned.Ended = ended ?? [];
        owned._live = true;
        var images = row.Images;
        owned.Reserve(images.Count);
        for (var i = 0; i < images.Count; i++) owned.Own(i, images[i].Span);
        return owned;
    }

    /// <summary>A copy with its own image buffers (a row that occurs twice, e.g. in two epochs, is owned twice).</summary>
    public OwnedRow Clone()
    {
        var copy = new OwnedRow(null)
        {
            SourceIndex = SourceIndex, Row = Row, After = After, MixtureRandom = MixtureRandom, Ended = Ended, _live = true,
        };
        copy.Reserve(ImageCount);
        for (var i = 0; i < ImageCount; i++) copy.Own(i, Image(i));
        return copy;
    }

    private void Reserve(int images)
    {
        if (_buffers.Length < images)
        {
            _buffers = new byte[images][];
            _lengths = new int[images];
        }
        ImageCount = images;
    }

    private void Own(int i, ReadOnlySpan<byte> src)
    {
        _buffers[i] = ArrayPool<byte>.Shared.Rent(Math.Max(1, src.Length));
        src.CopyTo(_buffers[i]);
        _lengths[i] = src.Length;
    }

    public ReadOnlySpan<byte> Image(int i)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)i, (uint)ImageCount, nameof(i));
        return _buffers[i].AsSpan(0, _lengths[i]);
    }

    /// <summary>The name image <paramref name="i"/> goes by in messages; built only when one is needed.</summary>
    public string ImageName(int i) => $"{Row.ShardName} row {Row.Position.Row} image {i}";

    /// <summary>What the stages pass to the image path as the image's name: a failure is renamed with
    /// <see cref="ImageName"/> where it is caught, so that images that decode fine cost no string.</summary>
    public const string UnnamedImage = "image";

    public long ImageBytes
    {
        get
        {
            long n = 0;
            for (var i = 0; i < ImageCount; i++) n += _lengths[i];
            return n;
        }
    }

    /// <summary>Returns the image buffers (and the row to its pool); a second call does nothing.</summary>
    public void ReturnBuffers()
    {
        if (!_live) return;
        _live = false;
        for (var i = 0; i < ImageCount; i++)
        {
            ArrayPool<byte>.Shared.Return(_buffers[i]);
            _buffers[i] = null!;
        }
        ImageCount = 0;
        // Row stays: a dropped row is still named in messages (it is replaced when the object is reused).
        _pool?.Return(this);
    }
}
