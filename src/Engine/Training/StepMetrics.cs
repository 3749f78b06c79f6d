namespace NanoVlm.Engine.Training;

/// <summary>One optimizer step, as logged (nanoVLM's names where it has them).</summary>
public sealed record StepMetrics
{
    /// <summary>Optimizer steps completed, this one included (1 for the first).</summary>
    public long Step { get; init; }
    /// <summary>Mean loss over the step's micro-batches.</summary>
    public double Loss { get; init; }
    /// <summary>nanoVLM's batch_loss: the last micro-batch's loss.</summary>
    public double BatchLoss { get; init; }
    /// <summary>Pre-clip gradient norm.</summary>
    public double GradNorm { get; init; }
    /// <summary>Learning rate per group name (MP, vision, LM).</summary>
    public IReadOnlyDictionary<string, double> LearningRates { get; init; } = new Dictionary<string, double>();
    /// <summary>Real (attended) tokens per second of compute, data waiting excluded (nanoVLM's tokens_per_second).</summary>
    public double TokensPerSecond { get; init; }
    /// <summary>Seconds the step waited for the loader.</summary>
    public double DataLoadTime { get; init; }
    /// <summary>Seconds of forward + backward + optimizer.</summary>
    public double FwBwTime { get; init; }
    /// <summary>Images per sample in the step's batches.</summary>
    public double ImagesPerSample { get; init; }
    /// <summary>Share of the step's sequence positions that are padding.</summary>
    public double PaddingRatio { get; init; }
    /// <summary>Micro-batches skipped so far (no image, or a non-finite loss under the skip policy).</summary>
    public long SkippedMicroBatches { get; init; }
    /// <summary>Wall-clock seconds since the run started.</summary>
    public double Elapsed { get; init; }
    /// <summary>Ranks of a data-parallel run (1 for a single process); with more, <see cref="Loss"/> and
    /// <see cref="BatchLoss"/> are means over the ranks and <see cref="TokensPerSecond"/> their sum.</summary>
    public int WorldSize { get; init; } = 1;
    /// <summary>Each rank's tokens per second of compute (data-parallel runs; empty otherwise).</summary>
    public IReadOnlyList<double> RankTokensPerSecond { get; init; } = [];
    /// <summary>Seconds of this step's gradient reduction (copies and all-reduces), on the slowest rank.</summary>
    public double AllReduceTime { get; init; }
    /// <summary>Bytes each rank all-reduced in this step.</summary>
    public long AllReduceBytes { get; init; }
}

/// <summary>A validation pass.</summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Loss">Mean of the per-batch losses (nanoVLM's avg_val_loss).</param>
/// <param name="Batches">Batches evaluated.</param>
public sealed record ValidationResult(long Step, double Loss, int Batches);

/// <summary>The end of a run.</summary>
/// <param name="Steps">Optimizer steps completed.</param>
/// <param name="FinalLoss">Mean loss of the last logged step.</param>
/// <param name="LastCheckpoint">The last checkpoint folder written (null if none).</param>
/// <param name="Interrupted">True when the run stopped on a cancellation (Ctrl-C, SIGTERM) before max_training_steps.</param>
/// <param name="SkippedMicroBatches">Micro-batches skipped.</param>
/// <param name="Seconds">Wall-clock time.</param>
public sealed record TrainSummary(long Steps, double FinalLoss, string? LastCheckpoint, bool Interrupted, long SkippedMicroBatches, double Seconds);
