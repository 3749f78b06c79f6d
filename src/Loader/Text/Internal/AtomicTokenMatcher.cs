using System.Buffers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// Finds atomic (added/special) tokens in raw text the way HF tokenizers' AddedVocabulary does:
/// leftmost match first, the longest token at that position. Allocation-free.
/// </summary>
internal sealed class AtomicTokenMatcher
{
    private readonly SearchValues<char> _firstChars;
    // first char -> tokens starting with it, longest first
    private readonly Dictionary<char, (string Token, int Id)[]> _byFirst;

    public AtomicTokenMatcher(IEnumerable<KeyValuePair<string, int>> tokens)
    {
        var groups = tokens.Where(t => t.Key.Length > 0)
            .GroupBy(t => t.Key[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Key.Length).ThenBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => (t.Key, t.Value)).ToArray());
        _byFirst = groups;
        _firstChars = SearchValues.Create(groups.Keys.ToArray());
    }

    /// <summary>Finds the next atomic token at or after <paramref name="start"/>.</summary>
    /// <returns>The index of the match, or -1.</returns>
    public int FindNext(ReadOnlySpan<char> text, int start, out int length, out int id)
    {
        int pos = start;
        while (pos < text.Length)
        {
            int rel = text[pos..].IndexOfAny(_firstChars);
            if (rel < 0) break;
            pos += rel;
            var rest = text[pos..];
            foreach (var (token, tokenId) in _byFirst[text[pos]])
            {
                if (rest.StartsWith(token, StringComparison.Ordinal))
                {
                    length = token.Length;
                    id = tokenId;
                    return pos;
                }
            }
            pos++;
        }
        length = 0;
        id = -1;
        return -1;
    }
}
