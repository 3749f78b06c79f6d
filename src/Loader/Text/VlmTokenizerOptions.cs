namespace NanoVlm.Loader.Text;

/// <summary>How a <see cref="VlmTokenizer"/> is set up on top of a base tokenizer file.</summary>
public sealed record VlmTokenizerOptions
{
    /// <summary>nanoVLM's 66 extra tokens in nanoVLM's order: <c>&lt;|image|&gt;</c>, <c>&lt;|global_image|&gt;</c>,
    /// then <c>&lt;row_i_col_j&gt;</c> for i, j in 1..8, row-major.</summary>
    public static IReadOnlyList<string> NanoVlmExtraTokens { get; } = BuildExtraTokens();

    /// <summary>The ChatML markers <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c>.</summary>
    public static IReadOnlyList<string> ChatMlTokens { get; } = [ChatTemplate.ImStart, ChatTemplate.ImEnd];

    /// <summary>Tokens added as atomic special tokens, in order, the way HF <c>add_special_tokens</c> does (what
    /// nanoVLM's <c>get_tokenizer(..., extra_special_tokens=...)</c> runs): a token the tokenizer already knows keeps
    /// its id, a new one gets the next id after the vocabulary and the existing added tokens. Defaults to nanoVLM's 66
    /// extra tokens and nothing else, so their ids are nanoVLM's and the vocabulary size is its <c>lm_vocab_size</c>.</summary>
    public IReadOnlyList<string> AddedSpecialTokens { get; init; } = NanoVlmExtraTokens;

    /// <summary>
    /// When the tokenizer does not know the ChatML markers, add them as atomic special tokens after
    /// <see cref="AddedSpecialTokens"/> (so the 66 extra tokens keep nanoVLM's ids and the markers get the two ids
    /// above them; the vocabulary grows by two). Off by default: nanoVLM adds nothing but its 66 tokens, so with a
    /// tokenizer without the markers (GPT-2, Llama, Gemma) the template text <c>&lt;|im_start|&gt;</c> is tokenized as
    /// ordinary text, exactly as nanoVLM does. Turning this on gives shorter sequences but ids and an embedding size
    /// that nanoVLM checkpoints do not have.
    /// </summary>
    public bool AddChatMlMarkers { get; init; }

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
