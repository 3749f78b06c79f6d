namespace NanoVlm.Packing.Internal;

/// <summary>Token and image sums of a validated window.</summary>
internal readonly record struct ShapeTotals(long Tokens, long Images);

/// <summary>Checks a window against the limits before any planner state is touched.</summary>
internal static class ShapeValidation
{
    /// <summary>Why a sample cannot be packed, or <c>null</c> when it can.</summary>
    public static string? Reject(in SampleShape s, int sequenceLength, int maxImages)
    {
        if (s.Length < 1) return $"length {s.Length} is not positive";
        if (s.Length > sequenceLength) return $"length {s.Length} exceeds the sequence length {sequenceLength}";
        if (s.Images < 0) return $"image count {s.Images} is negative";
        if (s.Images > maxImages) return $"{s.Images} images exceed the cap of {maxImages} per pack";
        return null;
    }

    public static ShapeTotals Validate(ReadOnlySpan<SampleShape> shapes, int sequenceLength, int maxImages)
    {
        long tokens = 0, images = 0;
        for (var i = 0; i < shapes.Length; i++)
        {
            ref readonly var s = ref shapes[i];
            // The common case is branch-light; the message is only built for the offending sample.
            if ((uint)(s.Length - 1) >= (uint)sequenceLength || (uint)s.Images > (uint)maxImages)
                throw new ArgumentOutOfRangeException(
                    "shapes", $"Sample {i} (id {s.Id}): {Reject(s, sequenceLength, maxImages)}.");
            tokens += s.Length;
            images += s.Images;
        }
        return new ShapeTotals(tokens, images);
    }
}
