namespace NanoVlm.Packing;

/// <summary>The packing algorithms a <see cref="PackPlanner"/> can run.</summary>
public enum PlannerKind
{
    /// <summary>Best-fit decreasing under the length and the image cap (<see cref="BestFitPlanner"/>); the default.</summary>
    BestFit,

    /// <summary>nanoVLM's balanced greedy knapsack, group for group (<see cref="NanovlmCompatPlanner"/>).</summary>
    NanovlmCompat,
}
