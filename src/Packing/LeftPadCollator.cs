namespace NanoVlm.Packing;

/// <summary>
/// nanoVLM's collator: each row left-padded to a fixed <c>maxLength</c> (input ids with the pad id, labels −100,
/// attention 0); samples longer than <c>maxLength</c> are dropped and counted. Rows are written into
/// caller-owned row-major buffers of <c>rows × maxLength</c>.
/// </summary>
public ref struct LeftPadCollator
{
    private readonly Span<int> _inputIds;
    private readonly Span<int> _labels;
    private readonly Span<int> _attentionMask;
    private readonly int _maxLength;
    private readonly int _padTokenId;

    /// <summary>Starts an empty batch.</summary>
    /// <param name="inputIds">Row-major <c>[rows, maxLength]</c> input ids.</param>
    /// <param name="labels">Row-major labels, same shape.</param>
    /// <param name="attentionMask">Row-major attention mask, same shape.</param>
    /// <param name="maxLength">Row length; nanoVLM's <c>lm_max_length</c>.</param>
    /// <param name="padTokenId">The pad token id.</param>
    public LeftPadCollator(Span<int> inputIds, Span<int> labels, Span<int> attentionMask, int maxLength, int padTokenId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (labels.Length != inputIds.Length || attentionMask.Length != inputIds.Length)
            throw new ArgumentException("inputIds, labels and attentionMask must have the same length.");
        if (inputIds.Length % maxLength != 0)
            throw new ArgumentException($"Buffer length {inputIds.Length} is not a multiple of maxLength {maxLength}.",
                nameof(inputIds));
        _inputIds = inputIds;
        _labels = labels;
        _attentionMask = attentionMask;
        _maxLength = maxLength;
        _padTokenId = padTokenId;
        Capacity = inputIds.Length / maxLength;
    }

    /// <summary>Rows the buffers can hold.</summary>
    public int Capacity { get; }

    /// <summary>Rows written.</summary>
    public int Rows { get; private set; }

    /// <summary>Samples dropped for being longer than <c>maxLength</c>.</summary>
    public int Dropped { get; private set; }

    /// <summary>
    /// Adds a sample as the next row, or drops it (returning <c>false</c>) when it is longer than
    /// <c>maxLength</c>. Throws when the three spans differ in length or the batch is full.
    /// </summary>
    /// <param name="inputIds">The sample's (or pack's) input ids.</param>
    /// <param name="labels">Its labels.</param>
    /// <param name="attentionMask">Its attention mask (packs carry 0 on their pad tokens).</param>
    public bool Add(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels, ReadOnlySpan<int> attentionMask)
    {
        var n = inputIds.Length;
        if (labels.Length != n || attentionMask.Length != n)
            throw new ArgumentException(
                $"Sample {Rows + Dropped}: {n} ids, {labels.Length} labels, {attentionMask.Length} mask entries.");
        if (n > _maxLength)
        {
            Dropped++;
            return false;
        }
        if (Rows == Capacity)
            throw new InvalidOperationException($"The batch is full ({Capacity} rows).");

        var row = Rows * _maxLength;
        var pad = _maxLength - n;
        _inputIds.Slice(row, pad).Fill(_padTokenId);
        _labels.Slice(row, pad).Fill(PackAssembler.IgnoreLabel);
        _attentionMask.Slice(row, pad).Fill(0);
        inputIds.CopyTo(_inputIds.Slice(row + pad, n));
        labels.CopyTo(_labels.Slice(row + pad, n));
        attentionMask.CopyTo(_attentionMask.Slice(row + pad, n));
        Rows++;
        return true;
    }
}
