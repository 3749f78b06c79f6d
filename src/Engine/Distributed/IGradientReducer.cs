namespace NanoVlm.Engine.Distributed;

/// <summary>
/// The gradient all-reduce of one optimizer step: sums the trained parameters' gradients over the ranks in flat
/// buckets and divides them (see <see cref="GradientObjective"/>). Over host memory (<see cref="GradientReducer"/>,
/// MPI) or on the device (<see cref="DeviceGradientReducer"/>, NCCL for CUDA tensors); both plan the same buckets.
/// </summary>
public interface IGradientReducer
{
    /// <summary>What the reduced gradient is the gradient of.</summary>
    GradientObjective Objective { get; }

    /// <summary>Gradient elements reduced per step.</summary>
    long Elements { get; }

    /// <summary>Elements per bucket.</summary>
    int BucketElements { get; }

    /// <summary>All-reduces per step (the token count of <see cref="GradientObjective.GlobalTokenMean"/> not counted).</summary>
    int Buckets { get; }

    /// <summary>What carries the all-reduce, for the log (e.g. "MPI, host copies" or "NCCL 2.27.3 ...").</summary>
    string Collective { get; }

    /// <summary>Sums the gradients over the ranks and divides them (see <see cref="GradientObjective"/>).</summary>
    /// <param name="localTokens">Labelled tokens this rank back-propagated in the step.</param>
    /// <returns>Timings, bytes and the divisor.</returns>
    GradientReduction Reduce(long localTokens);
}
