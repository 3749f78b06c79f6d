namespace NanoVlm.Loader.Text;

/// <summary>How a <see cref="VlmTokenizer"/> is set up on top of a base tokenizer file.</summary>
public sealed record VlmTokenizerOptions
{
    /// <summary>nanoVLM's 66 extra tokens in nanoVLM's order: <c>&lt;|image|&gt;</c>, <c>&lt;|global_image|&gt;</c>,
    /// then <c>&lt;row_i_col_j&gt;</c> for i, j in 1..8, row-major.</summary>
    public static IReadOnlyList<string> NanoVlmExtraTokens { get; } = BuildExtraTokens();

    /// <summary>ChatML markers, registered before the extra tokens.</summary>
    public static IReadOnlyList<string> ChatMlTokens { get; } = [ChatTemplate.ImStart, ChatTemplate.ImEnd];

    /// <summary>Tokens added as atomic special tokens, in order, the way HF <c>add_special_tokens</c> does:
    /// a token the base tokenizer already knows keeps its id, a new one gets the next id after the vocabulary and
    /// the existing added tokens. Defaults to the ChatML markers followed by nanoVLM's 66 extra tokens.</summary>
    public IReadOnlyList<string> AddedSpecialTokens { get; init; } = [.. ChatMlTokens, .. NanoVlmExtraTokens];

    /// <summary>The end-of-sequence token (also the pad token, as in nanoVLM). <see langword="null"/>: taken from a
    /// <c>tokenizer_config.json</c> beside the file if there is one, else the first of <c>&lt;|im_end|&gt;</c>
    /// (SmolLM2-Instruct's eos), <c>&lt;|endoftext|&gt;</c>, <c>&lt;/s&gt;</c> that the tokenizer knows.</summary>
    public string? EosToken { get; init; }

    private static string[] BuildExtraTokens()
    {
        var list = new List<string>(66) { ImageTokenString.ImageToken, ImageTokenString.GlobalImageToken };
        for (int i = 1; i <= 8; i++)
            for (int j = 1; j <= 8; j++)
                list.Add(ImageTokenString.RowColToken(i, j));
        return [.. list];
    }
}
