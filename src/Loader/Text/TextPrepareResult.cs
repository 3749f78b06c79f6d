namespace NanoVlm.Loader.Text;

/// <summary>The outcome of preparing one sample: its exact token length and image count, or why it was dropped.
/// This is what the pack planner needs (the lead maps it onto the Packing shape).</summary>
/// <param name="Length">Tokens in the templated conversation (0 when dropped).</param>
/// <param name="Images">Images in the sample (the number of grids given).</param>
/// <param name="DropReason"><see cref="TextDropReason.None"/> when the sample was prepared.</param>
public readonly record struct TextPrepareResult(int Length, int Images, TextDropReason DropReason)
{
    /// <summary>True when the sample was prepared (not dropped).</summary>
    public bool Ok => DropReason == TextDropReason.None;
}
