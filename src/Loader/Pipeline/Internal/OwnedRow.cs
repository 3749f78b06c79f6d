using System.Buffers;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A row read from a source, copied out of it (a source's row is valid only until its enumerator moves on):
/// the texts into one rented char array, the ratings into this object's own lists, each image's bytes into a rented
/// byte array. Rows made with an <see cref="OwnedRowPool"/> rent from it and go back to it with
/// <see cref="ReturnBuffers"/> (their lists kept), so a steady state copies without allocating; others rent from
/// <see cref="ArrayPool{T}.Shared"/>.</summary>
internal sealed class OwnedRow
{
    private readonly ReusePool<OwnedRow>? _pool;
    private readonly ArrayPool<byte> _imageArrays;
    private readonly ArrayPool<char> _textArrays;
    private byte[][] _buffers = [];
    private int[] _lengths = [];
    private bool _live;
    private readonly TextSample _text = new();
    private readonly List<ChatTurn> _turns = new(8);
    private readonly List<long?>[] _ratings = [new(8), new(8), new(8), new(8)];
    private char[] _chars = [];

    private OwnedRow(OwnedRowPool? pool)
    {
        _pool = pool?.Rows;
        _imageArrays = pool?.ImageBytes ?? ArrayPool<byte>.Shared;
        _textArrays = pool?.Texts ?? ArrayPool<char>.Shared;
    }

    public int SourceIndex { get; private set; }

    /// <summary>Where the row was read (names it in messages; a sample's origin).</summary>
    public RowPosition Position { get; private set; }

    /// <summary>The shard's display name (a source's per-shard string, shared, not copied).</summary>
    public string ShardName { get; private set; } = "";

    /// <summary>The row's texts and ratings, owned by this object (empty after <see cref="ReturnBuffers"/>).</summary>
    public TextSample Text => _text;

    /// <summary>Images of the row.</summary>
    public int ImageCount { get; private set; }

    /// <summary>The read stage right after this row: its source's position, the mixture's random state and which
    /// sources had ended (a shared snapshot, replaced when a source ends) — what a <see cref="LoaderState"/> saved
    /// after consuming this row records.</summary>
    public SourcePosition After { get; private set; }

    public ulong MixtureRandom { get; private set; }

    public bool[] Ended { get; private set; } = [];

    /// <summary>A copy of <paramref name="row"/> (texts, ratings and image bytes); from <paramref name="pool"/> when one
    /// is given.</summary>
    public static OwnedRow Copy(int source, SourceRow row, SourcePosition after = default, ulong mixtureRandom = 0,
        bool[]? ended = null, OwnedRowPool? pool = null)
    {
        var owned = pool is not null && pool.Rows.TryRent(out var reused) ? reused : new OwnedRow(pool);
        owned.SourceIndex = source;
        owned.Position = row.Position;
        owned.ShardName = row.ShardName;
        owned.OwnText(row.Text);
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
            SourceIndex = SourceIndex, Position = Position, ShardName = ShardName, After = After, MixtureRandom = MixtureRandom,
            Ended = Ended, _live = true,
        };
        copy.OwnText(_text);
        copy.Reserve(ImageCount);
        for (var i = 0; i < ImageCount; i++) copy.Own(i, Image(i));
        return copy;
    }

    // Indexed loops throughout: a foreach over an IReadOnlyList would box its enumerator.
    private void OwnText(TextSample text)
    {
        var texts = text.Texts;
        _turns.Clear();
        if (texts is not null)
        {
            long chars = 0;
            for (var t = 0; t < texts.Count; t++) chars += texts[t].User.Length + texts[t].Assistant.Length;
            if (chars > Array.MaxLength) throw new InvalidDataException($"{ShardName} row {Position.Row}: more than {Array.MaxLength} characters of text");
            // Rented at least 1 long: an empty array cannot go back to a pool.
            _chars = _textArrays.Rent(Math.Max(1, (int)chars));
            var at = 0;
            for (var t = 0; t < texts.Count; t++)
            {
                var turn = texts[t];
                _turns.Add(new ChatTurn(Own(turn.User.Span, ref at), Own(turn.Assistant.Span, ref at)));
            }
        }
        _text.Set(texts is null ? null : _turns, OwnRatings(0, text.RelevanceRatings), OwnRatings(1, text.ImageCorrespondenceRatings),
            OwnRatings(2, text.VisualDependencyRatings), OwnRatings(3, text.FormattingRatings));
    }

    private ReadOnlyMemory<char> Own(ReadOnlySpan<char> text, ref int at)
    {
        text.CopyTo(_chars.AsSpan(at));
        var owned = new ReadOnlyMemory<char>(_chars, at, text.Length);
        at += text.Length;
        return owned;
    }

    private List<long?>? OwnRatings(int i, IReadOnlyList<long?>? ratings)
    {
        if (ratings is null) return null;
        var list = _ratings[i];
        list.Clear();
        for (var k = 0; k < ratings.Count; k++) list.Add(ratings[k]);
        return list;
    }

    private void Reserve(int images)
    {
        if (_buffers.Length < images)
        {
            _buffers = new byte[Math.Max(images, 4)][];
            _lengths = new int[_buffers.Length];
        }
        ImageCount = images;
    }

    private void Own(int i, ReadOnlySpan<byte> src)
    {
        _buffers[i] = _imageArrays.Rent(Math.Max(1, src.Length));
        src.CopyTo(_buffers[i]);
        _lengths[i] = src.Length;
    }

    public ReadOnlySpan<byte> Image(int i)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)i, (uint)ImageCount, nameof(i));
        return _buffers[i].AsSpan(0, _lengths[i]);
    }

    /// <summary>The name image <paramref name="i"/> goes by in messages; built only when one is needed.</summary>
    public string ImageName(int i) => $"{ShardName} row {Position.Row} image {i}";

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

    /// <summary>Returns the image and text arrays (and the row to its pool); a second call does nothing.</summary>
    public void ReturnBuffers()
    {
        if (!_live) return;
        _live = false;
        for (var i = 0; i < ImageCount; i++)
        {
            _imageArrays.Return(_buffers[i]);
            _buffers[i] = null!;
        }
        ImageCount = 0;
        _text.Set(null, null, null, null, null);
        _turns.Clear();
        if (_chars.Length > 0) _textArrays.Return(_chars);
        _chars = [];
        // Position and shard name stay: a dropped row is still named in messages (they are replaced when the object
        // is reused).
        _pool?.Return(this);
    }
}
