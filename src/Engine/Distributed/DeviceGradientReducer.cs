using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// The gradient all-reduce of <see cref="GradientReducer"/> without leaving the device: the same buckets (the
/// parameters in order, float32, at most <see cref="BucketElements"/> each, a parameter may span buckets), but each
/// bucket is one flat tensor on the parameters' device, filled with <c>copy_</c>, summed in place by an
/// <see cref="IDeviceCollective"/> (NCCL on CUDA), divided, and copied back into the gradients. On CUDA every step is
/// queued on libtorch's stream, so the host waits once, at the end (<see cref="IDeviceCollective.Synchronize"/>).
/// The token count of <see cref="GradientObjective.GlobalTokenMean"/> goes over the host communicator, as in
/// <see cref="GradientReducer"/>. Pass each tensor once (a tied weight listed twice would be reduced twice).
/// </summary>
public sealed class DeviceGradientReducer : IGradientReducer, IDisposable
{
    private readonly IDeviceCollective _collective;
    private readonly ICommunicator _host;
    private readonly Parameter[] _parameters;
    private readonly Tensor _bucket;
    private readonly List<GradientSegment>[] _buckets;
    private readonly bool _ownsCollective;

    /// <summary>Plans the buckets over <paramref name="parameters"/> and allocates one bucket on their device.</summary>
    /// <param name="collective">The device all-reduce.</param>
    /// <param name="host">The host communicator of the same ranks (the token count of the global token mean).</param>
    /// <param name="parameters">The trained parameters, each tensor once, in the same order on every rank, all on one device.</param>
    /// <param name="objective">What the reduced gradient is the gradient of.</param>
    /// <param name="bucketElements">Elements per bucket.</param>
    /// <param name="ownsCollective">Whether <see cref="Dispose"/> disposes <paramref name="collective"/>.</param>
    public DeviceGradientReducer(IDeviceCollective collective, ICommunicator host, IReadOnlyList<Parameter> parameters,
        GradientObjective objective, int bucketElements = GradientReducer.DefaultBucketElements, bool ownsCollective = false)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        if (collective.Size != host.Size || collective.Rank != host.Rank)
            throw new ArgumentException($"The device collective is rank {collective.Rank} of {collective.Size}, the host communicator rank {host.Rank} of {host.Size}.");
        _collective = collective;
        _host = host;
        _ownsCollective = ownsCollective;
        _parameters = [.. parameters];
        var device = _parameters.Length > 0 ? _parameters[0].device : CPU;
        foreach (var p in _parameters)
            if (p.device_type != device.type || p.device_index != device.index)
                throw new ArgumentException($"The parameters are on more than one device ({device} and {p.device}).", nameof(parameters));
        Objective = objective;
        Elements = _parameters.Sum(p => p.numel());
        BucketElements = (int)Math.Max(1, Math.Min(bucketElements, Elements));
        _bucket = empty(BucketElements, ScalarType.Float32, device);
        _buckets = GradientBuckets.Plan(_parameters, BucketElements);
    }

    /// <inheritdoc/>
    public GradientObjective Objective { get; }

    /// <inheritdoc/>
    public long Elements { get; }

    /// <inheritdoc/>
    public int BucketElements { get; }

    /// <inheritdoc/>
    public int Buckets => _buckets.Length;

    /// <inheritdoc/>
    public string Collective => _collective.Description;

    /// <summary>The device all-reduce.</summary>
    public IDeviceCollective DeviceCollective => _collective;

    /// <inheritdoc/>
    /// <remarks>On CUDA, <see cref="GradientReduction.Seconds"/> starts after the step's queued kernels have run
    /// (one synchronisation first) and <see cref="GradientReduction.CollectiveSeconds"/> is the time until the device
    /// finished the queued copies and all-reduces (the calls themselves only queue work).</remarks>
    public GradientReduction Reduce(long localTokens)
    {
        _collective.Synchronize(); // the backward's kernels are not the all-reduce's time
        long start = Stopwatch.GetTimestamp();
        var (divisor, collective, bytes) = GradientBuckets.Divisor(_host, Objective, localTokens);
        // Held for the native calls: a temporary Scalar made from the double could be freed by a GC mid-call.
        using var divide = divisor.ToScalar();
        using (NewDisposeScope())
        {
            var grads = new Tensor[_parameters.Length];
            var flat = new Tensor[_parameters.Length];
            var copied = new bool[_parameters.Length];
            for (int i = 0; i < _parameters.Length; i++)
            {
                var p = _parameters[i];
                // A parameter the step did not reach has no gradient yet; its zeros still take their place in the bucket.
                if (p.grad is null) p.grad = zeros_like(p);
                grads[i] = p.grad!;
                // A float32 contiguous gradient is reduced in place through a flat view; any other is a float32 copy,
                // copied back at the end.
                copied[i] = grads[i].dtype != ScalarType.Float32 || !grads[i].is_contiguous();
                flat[i] = copied[i] ? grads[i].to(ScalarType.Float32).contiguous().view(-1) : grads[i].view(-1);
            }
            foreach (var segments in _buckets)
            {
                int length = 0;
                foreach (var s in segments)
                {
                    _bucket.narrow(0, s.BucketOffset, s.Count).copy_(flat[s.Parameter].narrow(0, s.ParameterOffset, s.Count));
                    length = s.BucketOffset + s.Count;
                }
                var values = _bucket.narrow(0, 0, length);
                long t = Stopwatch.GetTimestamp();
                _collective.AllReduceSum(values);
                collective += Stopwatch.GetElapsedTime(t).TotalSeconds;
                bytes += (long)length * sizeof(float);
                values.div_(divide);
                foreach (var s in segments)
                    flat[s.Parameter].narrow(0, s.ParameterOffset, s.Count).copy_(_bucket.narrow(0, s.BucketOffset, s.Count));
            }
            for (int i = 0; i < _parameters.Length; i++)
                if (copied[i]) grads[i].copy_(flat[i].view_as(grads[i]));
            long w = Stopwatch.GetTimestamp();
            _collective.Synchronize();
            collective += Stopwatch.GetElapsedTime(w).TotalSeconds;
        }
        return new GradientReduction(Stopwatch.GetElapsedTime(start).TotalSeconds, collective, bytes, divisor);
    }

    /// <summary>Frees the bucket (and the collective when owned).</summary>
    public void Dispose()
    {
        _bucket.Dispose();
        if (_ownsCollective) _collective.Dispose();
    }
}
