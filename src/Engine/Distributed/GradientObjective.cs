namespace NanoVlm.Engine.Distributed;

/// <summary>What one optimizer step's gradient is the gradient of, over all ranks and micro-batches.</summary>
public enum GradientObjective
{
    /// <summary>nanoVLM's (DDP's) objective: the mean over ranks × micro-batches of each micro-batch's token-mean loss.
    /// Each rank back-propagates loss / GA; the gradients are summed over ranks and divided by the world size. A
    /// micro-batch with few real tokens weighs as much as one with many.</summary>
    MicroBatchMean,

    /// <summary>The global token mean: every real (labelled) token of the step, on every rank, weighs the same. Each
    /// rank back-propagates its micro-batches' summed token losses; the gradients and the token counts are summed over
    /// ranks, and the gradient divided by the total count. Equal to one process training on all ranks' packs at once.</summary>
    GlobalTokenMean,
}
