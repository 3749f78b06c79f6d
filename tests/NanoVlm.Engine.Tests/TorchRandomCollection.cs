namespace NanoVlm.Engine.Tests;

/// <summary>
/// Tests that seed libtorch's global generator (<c>manual_seed</c>) and expect the same weights or losses twice. The
/// generator is process-wide, so any other test drawing from it in parallel (building a model, attaching LoRA
/// adapters) between the seed and the draws changes the numbers; this collection runs on its own, with nothing else
/// in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "torch global RNG";
}
