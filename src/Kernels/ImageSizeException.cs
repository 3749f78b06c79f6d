namespace NanoVlm.Kernels;

/// <summary>An image size that the image path refuses; nothing was written when this is thrown.</summary>
public sealed class ImageSizeException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public ImageSizeException(ImageSizeError reason, long width, long height, string message)
        : base($"{message} (image {width}x{height}, reason {reason})")
    {
        Reason = reason;
        Width = width;
        Height = height;
    }

    /// <summary>The reason.</summary>
    public ImageSizeError Reason { get; }

    /// <summary>The offending width.</summary>
    public long Width { get; }

    /// <summary>The offending height.</summary>
    public long Height { get; }
}
