namespace NanoVlm.Loader.Pipeline;

/// <summary>Why an input row did not reach a batch.</summary>
public enum DropReason
{
    /// <summary>Every turn was filtered by a quality rating.</summary>
    Rating,
    /// <summary>The sample had no texts.</summary>
    Empty,
    /// <summary>Tokens ≥ <see cref="DataLoaderOptions.MaxSampleLength"/> or the sample plus its pad exceeds the sequence length.</summary>
    TooLong,
    /// <summary>More images than <see cref="DataLoaderOptions.MaxImagesPerExample"/> (or the knapsack cap).</summary>
    TooManyImages,
    /// <summary>An image could not be probed or decoded (corrupt, truncated, unknown or unsupported format).</summary>
    CorruptImage,
    /// <summary>An image exceeded the decoder's pixel limit.</summary>
    DecodeLimit,
}
