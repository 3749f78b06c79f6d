namespace NanoVlm.Loader.Text;

/// <summary>One chat message.</summary>
/// <param name="Role">"user", "assistant" or "system".</param>
/// <param name="Content">The text.</param>
public readonly record struct ChatMessage(string Role, string Content);
