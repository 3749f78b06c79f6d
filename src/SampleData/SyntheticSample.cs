using NanoVlm.Loader.Text;

namespace NanoVlm.SampleData;

/// <summary>One generated training record: encoded images, question/answer turns with ratings, and a source tag.</summary>
public sealed class SyntheticSample
{
    /// <summary>Row index within the generated data set (the same in every format).</summary>
    public required long Index { get; init; }

    /// <summary>The encoded images in sample order (may be empty).</summary>
    public required IReadOnlyList<SyntheticImage> Images { get; init; }

    /// <summary>Turns and per-turn ratings (rating lists may be null or hold null entries).</summary>
    public required TextSample Text { get; init; }

    /// <summary>The <c>source</c> tag (which generator made the row).</summary>
    public required string Source { get; init; }
}

/// <summary>One encoded synthetic image.</summary>
/// <param name="Encoded">The encoded file (JPEG, PNG or WebP).</param>
/// <param name="Extension">File extension without the dot: <c>jpg</c>, <c>png</c> or <c>webp</c>.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record SyntheticImage(byte[] Encoded, string Extension, int Width, int Height);
