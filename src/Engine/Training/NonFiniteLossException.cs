namespace NanoVlm.Engine.Training;

/// <summary>A micro-batch's loss was NaN or infinite (the run stops under <see cref="NonFiniteLossPolicy.Stop"/>).</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The optimizer step being accumulated (1-based).</param>
    /// <param name="batchIndex">The loader batch's index.</param>
    /// <param name="loss">The loss value.</param>
    /// <param name="rows">The batch's first rows (source and position).</param>
    public NonFiniteLossException(long step, long batchIndex, double loss, string rows)
        : base($"The loss is {loss} at optimizer step {step}, loader batch {batchIndex} (rows {rows}). The run stopped; " +
            "the last checkpoint is intact. Lower the learning rates, or pass --skip-nonfinite-loss to skip such batches.")
    {
        Step = step;
        BatchIndex = batchIndex;
    }

    /// <summary>The optimizer step (1-based).</summary>
    public long Step { get; }

    /// <summary>The loader batch's index.</summary>
    public long BatchIndex { get; }
}
