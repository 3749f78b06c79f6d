namespace NanoVlm.Loader.Images;

/// <summary>The results of a run of <see cref="ImageFilePreprocessor"/> and its timing.</summary>
/// <param name="Results">One per input, in input order.</param>
/// <param name="Threads">Worker threads used.</param>
/// <param name="Seconds">Wall time of the processing pass.</param>
/// <param name="CpuSeconds">Process user+sys time during that pass (robust to other load on the machine).</param>
public sealed record ImageFileRun(IReadOnlyList<ImageFileResult> Results, int Threads, double Seconds, double CpuSeconds)
{
    /// <summary>Inputs processed.</summary>
    public int Succeeded => Results.Count(r => r.Error is null);

    /// <summary>Inputs that failed.</summary>
    public int Failed => Results.Count - Succeeded;
}
