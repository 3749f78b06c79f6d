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
    /// <summary>What the summed gradients are divided by: the rank count (nanoVLM's mean over ranks), or for
    /// <see cref="GradientObjective.GlobalTokenMean"/> the step's labelled tokens over all ranks (one all-reduce of
    /// <paramref name="localTokens"/> on <paramref name="host"/>; at least 1).</summary>
    /// <returns>The divisor, the seconds spent in the collective and the bytes it reduced.</returns>
    public static (double Divisor, double CollectiveSeconds, long Bytes) Divisor(ICommunicator host, GradientObjective objective, long localTokens)
    {
        if (objective != GradientObjective.GlobalTokenMean) return (host.Size, 0, 0);
        Span<double> tokens = [localTokens];
        long t = System.Diagnostics.Stopwatch.GetTimestamp();
        host.AllReduce(tokens, ReduceOperation.Sum);
        return (tokens[0] > 0 ? tokens[0] : 1, System.Diagnostics.Stopwatch.GetElapsedTime(t).TotalSeconds, sizeof(double));
    }

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
