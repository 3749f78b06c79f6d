using System.Text;
using TorchSharp.Modules;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// One rank of a data-parallel run, as the <see cref="Training.Trainer"/> sees it: the communicator, the gradient
/// objective, and the small collectives the loop needs to keep the ranks in step (stop together when one rank's data
/// ends, skip a micro-batch everywhere when one rank's loss is not finite, average losses, gather every rank's loader
/// state). Only rank 0 (<see cref="IsWriter"/>) writes checkpoints, logs and evaluation results.
/// </summary>
public sealed class DataParallel
{
    /// <summary>Wraps <paramref name="communicator"/>.</summary>
    /// <param name="communicator">The ranks (the caller keeps ownership).</param>
    /// <param name="objective">What each step's gradient is the gradient of.</param>
    /// <param name="bucketElements">Gradient bucket size in float32 elements.</param>
    public DataParallel(ICommunicator communicator, GradientObjective objective = GradientObjective.MicroBatchMean,
        int bucketElements = GradientReducer.DefaultBucketElements)
    {
        Communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        Objective = objective;
        BucketElements = bucketElements;
    }

    /// <summary>The ranks.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>This rank.</summary>
    public int Rank => Communicator.Rank;

    /// <summary>Number of ranks.</summary>
    public int WorldSize => Communicator.Size;

    /// <summary>Whether this rank writes checkpoints, logs and evaluation results (rank 0).</summary>
    public bool IsWriter => Communicator.Rank == 0;

    /// <summary>What each step's gradient is the gradient of.</summary>
    public GradientObjective Objective { get; }

    /// <summary>Gradient bucket size in float32 elements.</summary>
    public int BucketElements { get; }

    /// <summary>Plans the gradient all-reduce over <paramref name="parameters"/> (collective: every rank calls it).
    /// Parameters on the CPU are reduced over the communicator through host memory (<see cref="GradientReducer"/>);
    /// parameters on CUDA on the device (<see cref="DeviceGradientReducer"/>), over NCCL when there is more than one
    /// rank. The ranks must agree on CPU or CUDA.</summary>
    /// <param name="parameters">The trained parameters, each tensor once.</param>
    /// <returns>The reducer (disposable when it holds device memory or an NCCL communicator).</returns>
    /// <exception cref="InvalidOperationException">Some ranks train on CUDA and others on the CPU.</exception>
    /// <exception cref="DllNotFoundException">CUDA with more than one rank, and no NCCL library.</exception>
    public IGradientReducer CreateReducer(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var device = parameters.Count > 0 ? parameters[0].device : TorchSharp.torch.CPU;
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        if (WorldSize > 1 && All(cuda) != Any(cuda))
            throw new InvalidOperationException($"Rank {Rank} trains on {device}, but some ranks train on CUDA and others on the CPU: use the same --device on every rank.");
        if (!cuda) return new GradientReducer(Communicator, parameters, Objective, BucketElements);
        var collective = WorldSize == 1 ? new SingleDeviceCollective(device) : DeviceCollectiveFactory(Communicator, device.index);
        return new DeviceGradientReducer(collective, Communicator, parameters, Objective, BucketElements, ownsCollective: true);
    }

    /// <summary>Makes the device collective of a CUDA run of several ranks (NCCL; replaced in tests).</summary>
    internal Func<ICommunicator, int, IDeviceCollective> DeviceCollectiveFactory { get; set; } = NcclCommunicator.Create;

    /// <summary>Names what the next collectives are for in a timeout report (when the communicator is watched).</summary>
    /// <param name="phase">E.g. "step 12".</param>
    public void SetPhase(string phase)
    {
        if (Communicator is WatchedCommunicator w) w.Phase = phase;
    }

    /// <summary>True on every rank when <paramref name="value"/> is true on every rank.</summary>
    /// <param name="value">This rank's value.</param>
    /// <returns>The logical and over ranks.</returns>
    public bool All(bool value)
    {
        Span<double> v = [value ? 1 : 0];
        Communicator.AllReduce(v, ReduceOperation.Min);
        return v[0] > 0;
    }

    /// <summary>True on every rank when <paramref name="value"/> is true on some rank.</summary>
    /// <param name="value">This rank's value.</param>
    /// <returns>The logical or over ranks.</returns>
    public bool Any(bool value) => !All(!value);

    /// <summary>Sums <paramref name="values"/> over the ranks, in place.</summary>
    /// <param name="values">This rank's values; the sums on return.</param>
    public void Sum(Span<double> values) => Communicator.AllReduce(values, ReduceOperation.Sum);

    /// <summary>Every rank's <paramref name="values"/>, on every rank: row r of the result is rank r's.</summary>
    /// <param name="values">This rank's values (the same count on every rank).</param>
    /// <returns>[rank][index].</returns>
    public double[][] Gather(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        var all = new double[n * WorldSize];
        values.CopyTo(all.AsSpan(Rank * n, n));
        Communicator.AllReduce(all, ReduceOperation.Sum);
        return [.. Enumerable.Range(0, WorldSize).Select(r => all.AsSpan(r * n, n).ToArray())];
    }

    /// <summary>Every rank's <paramref name="text"/>, on every rank, in rank order.</summary>
    /// <param name="text">This rank's text.</param>
    /// <returns>[rank].</returns>
    public IReadOnlyList<string> Gather(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] mine = Encoding.UTF8.GetBytes(text);
        var lengths = Gather([mine.Length]);
        var result = new string[WorldSize];
        for (int r = 0; r < WorldSize; r++)
        {
            var buffer = r == Rank ? mine : new byte[(int)lengths[r][0]];
            if (buffer.Length > 0) Communicator.Broadcast(buffer, r);
            result[r] = Encoding.UTF8.GetString(buffer);
        }
        return result;
    }

    /// <summary>Rank 0's <paramref name="text"/>, on every rank.</summary>
    /// <param name="text">This rank's text (only rank 0's is used).</param>
    /// <returns>Rank 0's text.</returns>
    public string BroadcastFromWriter(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] mine = Encoding.UTF8.GetBytes(text);
        Span<double> length = [mine.Length];
        Communicator.AllReduce(length, ReduceOperation.Max);
        var buffer = new byte[(int)length[0]];
        if (IsWriter) mine.CopyTo(buffer, 0);
        if (buffer.Length > 0) Communicator.Broadcast(buffer, 0);
        return Encoding.UTF8.GetString(buffer).TrimEnd('\0');
    }
}
