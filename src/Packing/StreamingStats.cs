namespace NanoVlm.Packing;

/// <summary>Running totals of a <see cref="StreamingPacker"/>.</summary>
/// <param name="Emitted">Stats of every pack emitted so far.</param>
/// <param name="Windows">Plans run (one per full window, plus the flush).</param>
/// <param name="SkippedInvalid">Samples skipped for a length below 1 or a negative image count.</param>
/// <param name="SkippedTooLong">Samples skipped for a length above the sequence length.</param>
/// <param name="SkippedTooManyImages">Samples skipped for more images than a pack may hold.</param>
/// <param name="BufferedSamples">Samples waiting in the buffer (new or carried over).</param>
/// <param name="BufferedTokens">Tokens waiting in the buffer.</param>
public readonly record struct StreamingStats(
    PackingStats Emitted, long Windows, long SkippedInvalid, long SkippedTooLong, long SkippedTooManyImages,
    int BufferedSamples, long BufferedTokens)
{
    /// <summary>All skipped samples.</summary>
    public long Skipped => SkippedInvalid + SkippedTooLong + SkippedTooManyImages;
}
