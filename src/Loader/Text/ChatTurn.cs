namespace NanoVlm.Loader.Text;

/// <summary>One question/answer turn of a sample's <c>texts</c> list.</summary>
/// <remarks>The texts are <see cref="ReadOnlyMemory{T}"/> so that a source can hand out slices of its reused
/// buffers instead of a string per text (see <see cref="Sources.SourceRow"/> for how long they stay valid); a source
/// built from strings passes <c>text.AsMemory()</c> or uses <see cref="ChatTurn(string?, string?)"/>. An empty text
/// stands for a missing (null) one. Equality compares the texts' characters, not where they are stored.</remarks>
/// <param name="User">The user text (empty when missing).</param>
/// <param name="Assistant">The assistant text (empty when missing).</param>
public readonly record struct ChatTurn(ReadOnlyMemory<char> User, ReadOnlyMemory<char> Assistant)
{
    /// <summary>A turn over two strings (null is empty).</summary>
    /// <param name="user">The user text.</param>
    /// <param name="assistant">The assistant text.</param>
    public ChatTurn(string? user, string? assistant) : this(user.AsMemory(), assistant.AsMemory()) { }

    /// <summary>Whether both turns have the same user and assistant characters.</summary>
    /// <param name="other">The turn to compare with.</param>
    public bool Equals(ChatTurn other) =>
        User.Span.SequenceEqual(other.User.Span) && Assistant.Span.SequenceEqual(other.Assistant.Span);

    /// <summary>A hash of the texts' characters (consistent with <see cref="Equals(ChatTurn)"/>).</summary>
    public override int GetHashCode() =>
        HashCode.Combine(string.GetHashCode(User.Span, StringComparison.Ordinal), string.GetHashCode(Assistant.Span, StringComparison.Ordinal));
}
