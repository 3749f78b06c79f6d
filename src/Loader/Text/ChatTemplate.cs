using System.Text;

namespace NanoVlm.Loader.Text;

/// <summary>
/// nanoVLM's ChatML template: for each message <c>&lt;|im_start|&gt;</c> + role + <c>\n</c> + content +
/// <c>&lt;|im_end|&gt;</c> + <c>\n</c>; with a generation prompt, <c>&lt;|im_start|&gt;assistant\n</c> at the end.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary><c>&lt;|im_start|&gt;</c>.</summary>
    public const string ImStart = "<|im_start|>";

    /// <summary><c>&lt;|im_end|&gt;</c>.</summary>
    public const string ImEnd = "<|im_end|>";

    /// <summary>The generation prompt appended for inference.</summary>
    public const string GenerationPrompt = "<|im_start|>assistant\n";

    private readonly VlmTokenizer _tokenizer;

    internal ChatTemplate(VlmTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        // nanoVLM _get_prefix_len: template a dummy assistant message, cut at its content, count the tokens.
        const string probe = "xzyvd";
        string templated = Render([new ChatMessage("assistant", probe)]);
        AssistantPrefixLength = tokenizer.EncodeToIds(templated.AsSpan(0, templated.IndexOf(probe, StringComparison.Ordinal))).Length;
    }

    /// <summary>Tokens of <c>&lt;|im_start|&gt;assistant\n</c> (nanoVLM's <c>prefix_len</c>), which the loss mask skips.</summary>
    public int AssistantPrefixLength { get; }

    /// <summary>Renders messages as text.</summary>
    public static string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        foreach (var m in messages) sb.Append(ImStart).Append(m.Role).Append('\n').Append(m.Content).Append(ImEnd).Append('\n');
        if (addGenerationPrompt) sb.Append(GenerationPrompt);
        return sb.ToString();
    }

    /// <summary>Renders and tokenizes messages in one pass (no BOS/EOS added).</summary>
    public int[] Encode(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
        => _tokenizer.EncodeToIds(Render(messages, addGenerationPrompt));

    /// <summary>
    /// The inference prompt nanoVLM's evaluation builds: one user message whose content is the image string followed
    /// by <paramref name="question"/>, then the generation prompt; tokenized.
    /// </summary>
    public int[] BuildInferencePrompt(string question, ReadOnlySpan<ImageGrid> grids, int imageTokenLength = ImageTokenString.DefaultImageTokenLength)
    {
        ArgumentNullException.ThrowIfNull(question);
        string content = grids.IsEmpty ? question : ImageTokenString.Build(grids, imageTokenLength) + question;
        return Encode([new ChatMessage("user", content)], addGenerationPrompt: true);
    }
}
