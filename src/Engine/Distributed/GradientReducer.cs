using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>What one gradient reduction did.</summary>
/// <param name="Seconds">Wall time of the whole reduction (copies included).</param>
/// <param name="CollectiveSeconds">Of which inside the all-reduce calls (waiting for the slowest rank included).</param>
/// <param name="Bytes">Bytes this rank contributed to all-reduces.</param>
/// <param name="Divisor">What the summed gradients were divided by (the world size, or the step's global token count).</param>
public readonly record struct GradientReduction(double Seconds, double CollectiveSeconds, long Bytes, double Divisor);

/// <summary>
/// The gradient all-reduce of data-parallel training, done once per optimizer step after the last micro-batch's
/// backward (DDP's <c>no_sync</c> on the other micro-batches): the trained parameters' gradients are copied, in a
/// fixed order, into flat float32 buckets of at most <see cref="BucketElements"/> (a parameter may span buckets), one
/// sum all-reduce per bucket, and copied back divided by the world size (<see cref="GradientObjective.MicroBatchMean"/>)
/// or by the step's global token count (<see cref="GradientObjective.GlobalTokenMean"/>). Every rank ends with the same
/// gradients, so clipping and AdamW then take the same step everywhere. Pass each tensor once: a tied weight listed
/// under two names would be reduced (and divided) twice.
/// </summary>
public sealed class GradientReducer : IGradientReducer
{
    /// <summary>DDP's default bucket (<c>bucket_cap_mb=25</c>) in float32 elements.</summary>
    public const int DefaultBucketElements = 25 * 1024 * 1024 / sizeof(float);

    private readonly ICommunicator _communicator;
    private readonly Parameter[] _parameters;
    private readonly float[] _bucket;
    private readonly List<GradientSegment>[] _buckets;

    /// <summary>Plans the buckets over <paramref name="parameters"/>.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="parameters">The trained parameters, each tensor once, in the same order on every rank.</param>
    /// <param name="objective">What the reduced gradient is the gradient of.</param>
    /// <param name="bucketElements">Elements per bucket.</param>
    public GradientReducer(ICommunicator communicator, IReadOnlyList<Parameter> parameters, GradientObjective objective,
        int bucketElements = DefaultBucketElements)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        _communicator = communicator;
        _parameters = [.. parameters];
        Objective = objective;
        Elements = _parameters.Sum(p => p.numel());
        BucketElements = (int)Math.Max(1, Math.Min(bucketElements, Elements));
        _bucket = GC.AllocateUninitializedArray<float>(BucketElements, pinned: true);
        _buckets = GradientBuckets.Plan(_parameters, BucketElements);
    }

    /// <summary>What the reduced gradient is the gradient of.</summary>
    public GradientObjective Objective { get; }

    /// <summary>Gradient elements reduced per step.</summary>
    public long Elements { get; }

    /// <summary>Elements per bucket.</summary>
    public int BucketElements { get; }

    /// <summary>All-reduces per step (the token count of <see cref="GradientObjective.GlobalTokenMean"/> not counted).</summary>
    public int Buckets => _buckets.Length;

    /// <inheritdoc/>
    public string Collective => $"{_communicator.GetType().Name} over host copies";

    /// <summary>Sums the gradients over the ranks and divides them (see <see cref="GradientObjective"/>).</summary>
    /// <param name="localTokens">Labelled tokens this rank back-propagated in the step (used by
    /// <see cref="GradientObjective.GlobalTokenMean"/>).</param>
    /// <returns>Timings, bytes and the divisor.</returns>
    public GradientReduction Reduce(long localTokens)
    {
        long start = Stopwatch.GetTimestamp();
        var (divisor, collective, bytes) = GradientBuckets.Divisor(_communicator, Objective, localTokens);
        using (NewDisposeScope())
        {
            var grads = new Tensor[_parameters.Length];
            var host = new Tensor[_parameters.Length];
            for (int i = 0; i < _parameters.Length; i++)
            {
                var p = _parameters[i];
                // A parameter the step did not reach has no gradient yet; its zeros still take their place in the bucket.
                if (p.grad is null) p.grad = zeros_like(p);
                grads[i] = p.grad!;
                host[i] = grads[i].device_type == DeviceType.CPU && grads[i].dtype == ScalarType.Float32 && grads[i].is_contiguous()
                    ? grads[i] : grads[i].to(ScalarType.Float32, CPU).contiguous();
            }
            foreach (var segments in _buckets)
            {
                int length = 0;
                foreach (var s in segments)
                {
                    Values(host[s.Parameter]).Slice((int)s.ParameterOffset, s.Count).CopyTo(_bucket.AsSpan(s.BucketOffset, s.Count));
                    length = s.BucketOffset + s.Count;
                }
                long t = Stopwatch.GetTimestamp();
                _communicator.AllReduce(_bucket.AsSpan(0, length), ReduceOperation.Sum);
                collective += Stopwatch.GetElapsedTime(t).TotalSeconds;
                bytes += (long)length * sizeof(float);
                foreach (var s in segments)
                {
                    var source = _bucket.AsSpan(s.BucketOffset, s.Count);
                    var target = Values(host[s.Parameter]).Slice((int)s.ParameterOffset, s.Count);
                    for (int k = 0; k < source.Length; k++) target[k] = (float)(source[k] / divisor);
                }
            }
            for (int i = 0; i < _parameters.Length; i++)
                if (!ReferenceEquals(host[i], grads[i])) grads[i].copy_(host[i]);
        }
        return new GradientReduction(Stopwatch.GetElapsedTime(start).TotalSeconds, collective, bytes, divisor);
    }

    // The tensor's own memory (a CPU float32 contiguous tensor), not a copy.
    private static Span<float> Values(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);
}
