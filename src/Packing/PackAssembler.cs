namespace NanoVlm.Packing;

/// <summary>
/// Writes one pack into fixed-length buffers the caller owns (for example a pinned slab): the samples' input ids
/// and labels back to back, each followed by nanoVLM's pad token (attention 0, label −100), then tail padding.
/// Also writes per-sample position ids and the sample boundaries (<c>cu_seqlens</c>), so a model can restart
/// rotary positions and mask attention per document instead of across the whole pack.
/// </summary>
/// <remarks>
/// The pad appended to a sample belongs to it: it is counted in <see cref="SampleShape.Length"/>, takes the
/// next position id, and lies inside the sample's <c>cu_seqlens</c> span. Tail padding after the last sample has
/// pad ids, labels −100, attention 0, position 0 and no <c>cu_seqlens</c> entry.
/// </remarks>
public ref struct PackAssembler
{
    /// <summary>The label of positions that carry no loss (PyTorch's <c>ignore_index</c>).</summary>
    public const int IgnoreLabel = -100;

    private readonly Span<int> _inputIds;
    private readonly Span<int> _labels;
    private readonly Span<int> _attentionMask;
    private readonly Span<int> _positionIds;
    private readonly Span<int> _cuSeqlens;
    private readonly int _padTokenId;

    /// <summary>Starts an empty pack.</summary>
    /// <param name="inputIds">Receives the pack's token ids; its length is the sequence length L.</param>
    /// <param name="labels">Receives the labels; length L.</param>
    /// <param name="attentionMask">Receives 1 for sample tokens, 0 for pad tokens; length L.</param>
    /// <param name="positionIds">Receives positions restarting at 0 for every sample; length L.</param>
    /// <param name="cuSeqlens">Receives sample boundaries 0, end₀, end₁, …; needs one entry per sample plus one.</param>
    /// <param name="padTokenId">The pad token id (nanoVLM: the tokenizer's eos id).</param>
    public PackAssembler(Span<int> inputIds, Span<int> labels, Span<int> attentionMask, Span<int> positionIds,
        Span<int> cuSeqlens, int padTokenId)
    {
        var length = inputIds.Length;
        if (labels.Length != length || attentionMask.Length != length || positionIds.Length != length)
            throw new ArgumentException(
                $"inputIds, labels, attentionMask and positionIds must have the same length ({length}, {labels.Length}, " +
                $"{attentionMask.Length}, {positionIds.Length}).");
        if (cuSeqlens.Length < 1) throw new ArgumentException("cuSeqlens needs at least one entry.", nameof(cuSeqlens));
        _inputIds = inputIds;
        _labels = labels;
        _attentionMask = attentionMask;
        _positionIds = positionIds;
        _cuSeqlens = cuSeqlens;
        _padTokenId = padTokenId;
        cuSeqlens[0] = 0;
    }

    /// <summary>Tokens written so far, per-sample pads included.</summary>
    public int Tokens { get; private set; }

    /// <summary>Samples appended so far.</summary>
    public int Samples { get; private set; }

    /// <summary>
    /// Appends one sample and its pad token. Throws <see cref="ArgumentException"/> (naming the sample's position
    /// in the pack) when ids and labels differ in length or the sample does not fit.
    /// </summary>
    /// <param name="inputIds">The sample's token ids, without the pad.</param>
    /// <param name="labels">The sample's labels, one per id.</param>
    public void Append(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels)
    {
        var n = inputIds.Length;
        if (labels.Length != n)
            throw new ArgumentException($"Sample {Samples} of the pack: {n} ids but {labels.Length} labels.", nameof(labels));
        if (n + 1 > _inputIds.Length - Tokens)
            throw new ArgumentException(
                $"Sample {Samples} of the pack: {n} tokens + 1 pad do not fit, {_inputIds.Length - Tokens} of {_inputIds.Length} left.",
                nameof(inputIds));
        if (Samples + 1 >= _cuSeqlens.Length)
            throw new ArgumentException($"Sample {Samples} of the pack: cuSeqlens has room for {_cuSeqlens.Length - 1} samples.",
                nameof(inputIds));

        var at = Tokens;
        inputIds.CopyTo(_inputIds[at..]);
        labels.CopyTo(_labels[at..]);
        _attentionMask.Slice(at, n).Fill(1);
        var positions = _positionIds.Slice(at, n + 1);
        for (var i = 0; i < positions.Length; i++) positions[i] = i;
        _inputIds[at + n] = _padTokenId;
        _labels[at + n] = IgnoreLabel;
        _attentionMask[at + n] = 0;
        Tokens = at + n + 1;
        _cuSeqlens[++Samples] = Tokens;
    }

    /// <summary>Pads the tail and returns the number of samples; <c>cuSeqlens[0..Samples]</c> is written.</summary>
    public readonly int Finish()
    {
        _inputIds[Tokens..].Fill(_padTokenId);
        _labels[Tokens..].Fill(IgnoreLabel);
        _attentionMask[Tokens..].Fill(0);
        _positionIds[Tokens..].Fill(0);
        return Samples;
    }
}
