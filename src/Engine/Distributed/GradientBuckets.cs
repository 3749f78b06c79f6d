using TorchSharp.Modules;

namespace NanoVlm.Engine.Distributed;

/// <summary>A run of one parameter's gradient elements inside one bucket.</summary>
/// <param name="Parameter">Index of the parameter in the reducer's list.</param>
/// <param name="ParameterOffset">First element within the parameter.</param>
/// <param name="BucketOffset">First element within the bucket.</param>
/// <param name="Count">Elements in the run.</param>
internal readonly record struct GradientSegment(int Parameter, long ParameterOffset, int BucketOffset, int Count);

/// <summary>
/// The bucket layout both gradient reducers (host and device) share, so a CPU and a CUDA rank reduce the same
/// elements in the same all-reduce: the parameters in order, packed into buckets of a fixed element count, a parameter
/// spanning buckets where it does not fit.
/// </summary>
internal static class GradientBuckets
{
    /// <summary>Lays <paramref name="parameters"/> out in buckets of <paramref name="bucketElements"/> elements.</summary>
    public static List<GradientSegment>[] Plan(IReadOnlyList<Parameter> parameters, int bucketElements)
    {
        var buckets = new List<List<GradientSegment>> { new() };
        int used = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            long n = parameters[i].numel(), done = 0;
            while (done < n)
            {
                if (used == bucketElements) { buckets.Add([]); used = 0; }
                int take = (int)Math.Min(n - done, bucketElements - used);
                buckets[^1].Add(new GradientSegment(i, done, used, take));
                done += take;
                used += take;
            }
        }
        return [.. buckets];
    }
}
