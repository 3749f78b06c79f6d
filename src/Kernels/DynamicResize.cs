namespace NanoVlm.Kernels;

/// <summary>nanoVLM's DynamicResize size rule (nanoVLM data/custom_transforms.py; docs/nanovlm-compat.md, "Image path" step 2); pure arithmetic, no pixels.</summary>
public static class DynamicResize
{
    /// <summary>Target size for a <paramref name="width"/>×<paramref name="height"/> image, computed with the same
    /// double arithmetic as nanoVLM's Python; validates the size against <paramref name="options"/>.</summary>
    /// <exception cref="ImageSizeException">Non-positive size, too many pixels, or an output that would not fit a span.</exception>
    public static ImageGeometry Compute(int width, int height, ImagePipelineOptions? options = null)
    {
        options ??= ImagePipelineOptions.Default;
        options.Validate();
        Check(width, height, options);
        int p = options.SplitSize, m = options.MaxSideLength;
        bool landscape = width >= height;
        int longSide = landscape ? width : height, shortSide = landscape ? height : width;
        long targetLong = options.ResizeToMaxSide ? m : Math.Min(m, (long)Math.Ceiling((double)longSide / p) * p);
        double scale = (double)targetLong / longSide;
        long targetShort = Math.Max(p, (long)Math.Ceiling(shortSide * scale / p) * p);
        long tw = landscape ? targetLong : targetShort, th = landscape ? targetShort : targetLong;
        if (tw > int.MaxValue || th > int.MaxValue || 3 * tw * th > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, width, height, $"Resized size {tw}x{th} is too large");
        var g = new ImageGeometry(width, height, (int)tw, (int)th, p);
        if (g.OutputFloatCount > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, width, height,
                $"Tile output of {g.OutputFloatCount} floats does not fit one span");
        return g;
    }

    /// <summary>Validates a source size: positive sides and at most <see cref="ImagePipelineOptions.MaxPixels"/> pixels.</summary>
    /// <exception cref="ImageSizeException">The size is rejected.</exception>
    public static void Check(long width, long height, ImagePipelineOptions? options = null)
    {
        options ??= ImagePipelineOptions.Default;
        if (width <= 0 || height <= 0)
            throw new ImageSizeException(ImageSizeError.NonPositive, width, height, "Image width and height must be positive");
        if (width > int.MaxValue || height > int.MaxValue || width * height > options.MaxPixels)
            throw new ImageSizeException(ImageSizeError.TooManyPixels, width, height,
                $"Image has more than the allowed {options.MaxPixels} pixels (decompression-bomb limit)");
        if (3 * width * height > Array.MaxLength)
            throw new ImageSizeException(ImageSizeError.Overflow, width, height, "Image bytes do not fit one span");
    }
}
