namespace NanoVlm.Engine;

/// <summary>How <see cref="VisionLanguageModel.Generate"/> picks tokens; the defaults are nanoVLM's <c>generate</c>
/// defaults except <see cref="MaxNewTokens"/>.</summary>
public sealed record GenerationOptions
{
    /// <summary>Decode steps (nanoVLM always runs all of them; positions after the first EOS become EOS).</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Argmax instead of sampling.</summary>
    public bool Greedy { get; init; }

    /// <summary>Keep the K largest logits (ties with the K-th survive); 0 = off.</summary>
    public int TopK { get; init; } = 50;

    /// <summary>Nucleus: drop sorted tokens whose cumulative probability exceeds P (the crossing token is dropped
    /// too, unlike Hugging Face's; the first is always kept); 1 = off.</summary>
    public double TopP { get; init; } = 0.9;

    /// <summary>Softmax temperature, applied after the filters.</summary>
    public double Temperature { get; init; } = 0.5;

    /// <summary>Seed of the sampling generator (null = libtorch's global generator).</summary>
    public long? Seed { get; init; }

    /// <summary>The tokenizer's EOS id; every position after the first EOS of a row is set to it. Null = none.</summary>
    public int? EosTokenId { get; init; }
}
