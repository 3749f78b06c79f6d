namespace NanoVlm.Loader.Text;

/// <summary>Options of <see cref="SamplePreparer"/>.</summary>
public sealed record SamplePreparerOptions
{
    /// <summary>Quality-rating thresholds.</summary>
    public QualityFilterOptions QualityFilter { get; init; } = new();

    /// <summary><c>&lt;|image|&gt;</c> tokens per tile (nanoVLM <c>mp_image_token_length</c>, default 64).</summary>
    public int ImageTokenLength { get; init; } = ImageTokenString.DefaultImageTokenLength;
}
