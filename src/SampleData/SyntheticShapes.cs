using NanoVlm.Packing;
using NanoVlm.Packing.Internal;

namespace NanoVlm.SampleData;

/// <summary>
/// Seeded sample shapes shaped like FineVision after nanoVLM's preprocessing, for benchmarks, tests and
/// <c>nanovlm pack</c> without an items file.
/// </summary>
/// <remarks>
/// Per sample: 0–4 images (3% none, 80% one, 10% two, 4% three, 3% four); each image 5–17 tiles (global tile
/// included) of 65 tokens (64 image tokens + the row/col or global marker); text tokens lognormal with median
/// ≈ 150 (μ = 5, σ = 1) plus 8 template tokens; plus nanoVLM's one pad token. Samples whose tokens before the
/// pad reach <c>maxSampleLength</c> are redrawn, as nanoVLM skips them.
/// </remarks>
public static class SyntheticShapes
{
    /// <summary>Tokens per image tile: 64 <c>&lt;|image|&gt;</c> tokens plus its marker token.</summary>
    public const int TokensPerTile = 65;

    /// <summary>Creates <paramref name="count"/> shapes with ids 0..count−1.</summary>
    public static SampleShape[] FineVisionLike(int count, int seed = 0, int maxSampleLength = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var shapes = new SampleShape[count];
        FineVisionLike(shapes, seed, maxSampleLength);
        return shapes;
    }

    /// <summary>Fills <paramref name="destination"/> with shapes whose ids are their indices.</summary>
    public static void FineVisionLike(Span<SampleShape> destination, int seed = 0, int maxSampleLength = 4096)
    {
        // The smallest possible sample (8 template tokens) must fit, or redrawing would never end.
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSampleLength, 9);
        var rng = new SplitMix64((ulong)(uint)seed * 0x9E3779B97F4A7C15ul + 0x632BE59BD9B4E019ul);
        for (var i = 0; i < destination.Length;)
        {
            var u = rng.NextDouble();
            var images = u < 0.03 ? 0 : u < 0.83 ? 1 : u < 0.93 ? 2 : u < 0.97 ? 3 : 4;
            var tokens = (long)Math.Exp(5.0 + rng.NextGaussian()) + 8;
            for (var k = 0; k < images; k++) tokens += TokensPerTile * rng.NextInt(5, 17);
            if (tokens >= maxSampleLength) continue;
            destination[i] = new SampleShape((int)tokens + 1, images, i);
            i++;
        }
    }
}
