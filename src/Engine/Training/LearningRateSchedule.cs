namespace NanoVlm.Engine.Training;

/// <summary>nanoVLM's <c>get_lr</c> (train.py): linear warmup over the first 3% of the steps, cosine decay to 10% of
/// the peak, then the floor.</summary>
public static class LearningRateSchedule
{
    /// <summary>The learning rate of optimizer step <paramref name="step"/> (0-based, the number of completed steps).</summary>
    /// <param name="step">Completed optimizer steps.</param>
    /// <param name="maxLr">The group's peak learning rate.</param>
    /// <param name="maxSteps">max_training_steps.</param>
    /// <returns>The rate.</returns>
    public static double At(long step, double maxLr, long maxSteps)
    {
        double minLr = maxLr * 0.1;
        double warmup = maxSteps * 0.03;
        if (step < warmup) return maxLr * (step + 1) / warmup;
        if (step > maxSteps) return minLr;
        double decay = (step - warmup) / (maxSteps - warmup);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * decay));
        return minLr + coeff * (maxLr - minLr);
    }
}
