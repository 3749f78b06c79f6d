using NanoVlm.Packing.Internal;

namespace NanoVlm.Packing;

/// <summary>
/// Packs an endless stream of samples with bounded memory: samples are buffered until the buffer holds at least
/// <see cref="StreamingPackerOptions.WindowTokens"/> tokens, then the window is planned and its packs become
/// ready. Packs filled below <see cref="StreamingPackerOptions.MinEmitFill"/> are held back and their samples
/// planned again with the next window, so what is emitted is nearly full.
/// </summary>
/// <remarks>
/// Usage: <c>Add</c> each sample; after each call take the ready packs with <see cref="TryTakePack"/>; at the end
/// of the stream call <see cref="Flush"/> and take the rest. A taken pack is a span over the packer's own buffer
/// of <see cref="SampleShape"/>s (members in packing order, identify samples by <see cref="SampleShape.Id"/>);
/// it stays valid until the next <see cref="Add"/> or <see cref="Flush"/>. Invalid samples are skipped and
/// counted, never thrown. Steady state allocates nothing. Not thread-safe.
/// </remarks>
public sealed class StreamingPacker
{
    private readonly PackPlanner _planner;
    private readonly int _seqLen;
    private readonly int _maxImages;
    private readonly int _window;
    private readonly long _maxCarryTokens;
    private readonly double _minEmitTokens;

    private SampleShape[] _buffer = [];
    private SampleShape[] _spare = []; // next buffer: carried samples are copied here, then the two swap
    private int _buffered;
    private long _bufferedTokens;

    private int[] _members = [];
    private int[] _starts = [];
    private int[] _packTokens = [];
    private bool[] _carry = [];
    private long[] _carryOrder = [];

    private SampleShape[] _out = [];
    private int[] _outStarts = [0];
    private int _outPacks;
    private int _taken;

    private long _items, _packs, _tokens, _images, _windows, _invalid, _tooLong, _tooManyImages;
    private int _maxImagesInPack, _minPackTokens = int.MaxValue;

    /// <summary>Creates a packer; the options are validated.</summary>
    public StreamingPacker(StreamingPackerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _planner = PackPlanner.Create(options.Planner, options.Packing);
        _seqLen = options.Packing.SequenceLength;
        _maxImages = options.Packing.MaxImagesPerPack;
        _window = options.WindowTokens;
        _maxCarryTokens = (long)(options.MaxCarryFraction * options.WindowTokens);
        _minEmitTokens = options.MinEmitFill * _seqLen;
    }

    /// <summary>The options this packer runs with.</summary>
    public StreamingPackerOptions Options { get; }

    /// <summary>Packs planned and not yet taken.</summary>
    public int ReadyPacks => _outPacks - _taken;

    /// <summary>Running totals: emitted fill, skips, what is buffered.</summary>
    public StreamingStats Stats => new(
        new PackingStats(_items, _packs, _tokens, _images, _seqLen, _maxImagesInPack,
            _packs == 0 ? 0 : _minPackTokens),
        _windows, _invalid, _tooLong, _tooManyImages, _buffered, _bufferedTokens);

    /// <summary>
    /// Buffers one sample and plans the window once it is full. Returns <c>false</c> when the sample was skipped
    /// (length below 1 or above the sequence length, negative image count, more images than the cap): such
    /// samples are counted in <see cref="Stats"/>, never packed.
    /// </summary>
    public bool Add(SampleShape shape)
    {
        if (shape.Length < 1 || shape.Images < 0) { _invalid++; return false; }
        if (shape.Length > _seqLen) { _tooLong++; return false; }
        if (shape.Images > _maxImages) { _tooManyImages++; return false; }

        if (_buffered == _buffer.Length)
        {
            var grown = new SampleShape[Math.Max(64, _buffer.Length * 2)];
            _buffer.AsSpan(0, _buffered).CopyTo(grown);
            _buffer = grown;
        }
        _buffer[_buffered++] = shape;
        _bufferedTokens += shape.Length;
        if (_bufferedTokens >= _window) PlanBuffer(final: false);
        return true;
    }

    /// <summary>Plans whatever is buffered and makes every pack ready (end of stream).</summary>
    public void Flush() => PlanBuffer(final: true);

    /// <summary>Takes the next ready pack, in plan order.</summary>
    /// <param name="pack">The pack's samples; valid until the next <see cref="Add"/> or <see cref="Flush"/>.</param>
    /// <returns><c>false</c> when no pack is ready.</returns>
    public bool TryTakePack(out ReadOnlySpan<SampleShape> pack)
    {
        if (_taken == _outPacks)
        {
            pack = default;
            return false;
        }
        pack = _out.AsSpan(_outStarts[_taken], _outStarts[_taken + 1] - _outStarts[_taken]);
        _taken++;
        return true;
    }

    /// <summary>The buffered samples in buffer order (<see cref="StreamingPackerState.Buffered"/> without the copy);
    /// valid until the next <see cref="Add"/> or <see cref="Flush"/>.</summary>
    public ReadOnlySpan<SampleShape> Buffered => _buffer.AsSpan(0, _buffered);

    /// <summary>Ready pack <paramref name="index"/> (0 = the next <see cref="TryTakePack"/> returns), without taking
    /// it or copying it (<see cref="StreamingPackerState.Ready"/>); valid until the next <see cref="Add"/> or
    /// <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not below <see cref="ReadyPacks"/>.</exception>
    public ReadOnlySpan<SampleShape> ReadyPack(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ReadyPacks);
        var p = _taken + index;
        return _out.AsSpan(_outStarts[p], _outStarts[p + 1] - _outStarts[p]);
    }

    /// <summary>Words the planner's pack shuffle has drawn (<see cref="StreamingPackerState.PlannerDraws"/>).</summary>
    public long PlannerDraws => _planner.RandomDraws;

    /// <summary>
    /// What a packer needs to continue exactly where this one stands: the buffered samples in buffer order, the packs
    /// planned and not yet taken, and the planner's random state. Checkpoint a training run with it (the ids are
    /// yours: map them to your samples) and continue with <see cref="Restore"/>. Allocates the returned arrays.
    /// </summary>
    public StreamingPackerState SaveState()
    {
        var ready = new SampleShape[ReadyPacks][];
        for (var p = 0; p < ready.Length; p++) ready[p] = ReadyPack(p).ToArray();
        return new StreamingPackerState(Buffered.ToArray(), ready, PlannerDraws);
    }

    /// <summary>
    /// A packer in the state <paramref name="state"/> was saved in (by a packer with the same options): the same
    /// samples added afterwards give the same packs. Sample ids may differ from the saved ones (e.g. re-numbered after
    /// a restart); lengths, image counts and order must not. Running totals (<see cref="Stats"/>) start from zero.
    /// </summary>
    /// <exception cref="ArgumentException">A sample the options would have skipped.</exception>
    public static StreamingPacker Restore(StreamingPackerOptions options, StreamingPackerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var packer = new StreamingPacker(options);
        packer._planner.SkipRandom(state.PlannerDraws);
        var ready = state.Ready.Sum(p => p.Length);
        packer.CompactOutput(ready);
        foreach (var pack in state.Ready)
        {
            foreach (var s in pack) packer.CheckRestorable(s);
            var at = packer._outStarts[packer._outPacks];
            pack.CopyTo(packer._out.AsSpan(at));
            packer._outStarts[++packer._outPacks] = at + pack.Length;
        }
        packer._buffer = new SampleShape[Math.Max(64, state.Buffered.Length)];
        foreach (var s in state.Buffered)
        {
            packer.CheckRestorable(s);
            packer._buffer[packer._buffered++] = s;
            packer._bufferedTokens += s.Length;
        }
        return packer;
    }

    private void CheckRestorable(SampleShape s)
    {
        if (s.Length < 1 || s.Length > _seqLen || s.Images < 0 || s.Images > _maxImages)
            throw new ArgumentException($"Sample {s.Id} ({s.Length} tokens, {s.Images} images) does not fit these options.", "state");
    }

    private void PlanBuffer(bool final)
    {
        var n = _buffered;
        if (n == 0) return;
        _windows++;
        Scratch.Ensure(ref _members, n);
        Scratch.Ensure(ref _starts, n + 1);
        var shapes = _buffer.AsSpan(0, n);
        var packs = _planner.Plan(shapes, _members, _starts);

        Scratch.Ensure(ref _packTokens, packs);
        Scratch.Ensure(ref _carry, packs);
        long carried = 0;
        var carriedPacks = 0;
        for (var p = 0; p < packs; p++)
        {
            var t = 0;
            for (var m = _starts[p]; m < _starts[p + 1]; m++) t += shapes[_members[m]].Length;
            _packTokens[p] = t;
            _carry[p] = !final && t < _minEmitTokens;
            if (_carry[p]) { carried += t; carriedPacks++; }
        }
        if (carried > _maxCarryTokens) carried = ReleaseFullestCarried(packs, carriedPacks, carried);

        CompactOutput(n);
        var spareCount = 0;
        Scratch.Ensure(ref _spare, n);
        for (var p = 0; p < packs; p++)
        {
            if (_carry[p])
            {
                for (var m = _starts[p]; m < _starts[p + 1]; m++) _spare[spareCount++] = shapes[_members[m]];
                continue;
            }
            var outPos = _outStarts[_outPacks];
            var images = 0;
            for (var m = _starts[p]; m < _starts[p + 1]; m++)
            {
                var s = shapes[_members[m]];
                _out[outPos++] = s;
                images += s.Images;
            }
            _outStarts[++_outPacks] = outPos;
            _items += _starts[p + 1] - _starts[p];
            _packs++;
            _tokens += _packTokens[p];
            _images += images;
            _maxImagesInPack = Math.Max(_maxImagesInPack, images);
            _minPackTokens = Math.Min(_minPackTokens, _packTokens[p]);
        }

        (_buffer, _spare) = (_spare, _buffer);
        _buffered = spareCount;
        _bufferedTokens = carried;
    }

    // Too much is underfilled to carry it all: emit the fullest underfilled packs until the rest fits the budget.
    private long ReleaseFullestCarried(int packs, int carriedPacks, long carried)
    {
        Scratch.Ensure(ref _carryOrder, carriedPacks);
        var k = 0;
        for (var p = 0; p < packs; p++)
            if (_carry[p]) _carryOrder[k++] = ((long)(int.MaxValue - _packTokens[p]) << 32) | (uint)p;
        var order = _carryOrder.AsSpan(0, k);
        order.Sort(); // fullest first, ties by pack index: deterministic
        foreach (var key in order)
        {
            if (carried <= _maxCarryTokens) break;
            var p = (int)(key & 0xFFFF_FFFF);
            _carry[p] = false;
            carried -= _packTokens[p];
        }
        return carried;
    }

    // Drops taken packs and makes room for up to `incoming` more samples (and as many packs).
    private void CompactOutput(int incoming)
    {
        if (_taken > 0)
        {
            var from = _outStarts[_taken];
            var used = _outStarts[_outPacks] - from;
            _out.AsSpan(from, used).CopyTo(_out);
            for (var p = _taken; p <= _outPacks; p++) _outStarts[p - _taken] = _outStarts[p] - from;
            _outPacks -= _taken;
            _taken = 0;
        }
        var need = _outStarts[_outPacks] + incoming;
        if (_out.Length < need) Array.Resize(ref _out, Math.Max(need, _out.Length * 2));
        if (_outStarts.Length < _outPacks + incoming + 1)
            Array.Resize(ref _outStarts, Math.Max(_outPacks + incoming + 1, _outStarts.Length * 2));
    }
}
