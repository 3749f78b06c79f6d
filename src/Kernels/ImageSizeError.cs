namespace NanoVlm.Kernels;

/// <summary>Why an image size was rejected.</summary>
public enum ImageSizeError
{
    /// <summary>Width or height is zero or negative.</summary>
    NonPositive,
    /// <summary>width × height exceeds <see cref="ImagePipelineOptions.MaxPixels"/>.</summary>
    TooManyPixels,
    /// <summary>A derived size (resized image, tile output) does not fit the index range of a span.</summary>
    Overflow,
}
