using System.Buffers;

namespace NanoVlm.Loader.Text.Internal;

internal sealed partial class SentencePieceBpeModel
{
    /// <summary>
    /// sentencepiece's <c>Normalizer::Normalize</c> without character rules (<c>normalizer.cc</c>): the text is taken
    /// one prefix at a time (a user-defined symbol, else one character; a lone surrogate becomes U+FFFD); with
    /// remove_extra_whitespaces leading spaces are dropped, a run of spaces becomes one and trailing space symbols are
    /// dropped; with escape_whitespaces a space becomes U+2581; with add_dummy_prefix one space symbol goes first (last
    /// with treat_whitespace_as_suffix). Only U+0020 is a space here, as there.
    /// </summary>
    /// <returns>The length of the normalized text in <see cref="Scratch.Normalized"/>.</returns>
    private int Normalize(ReadOnlySpan<char> input, Scratch scratch)
    {
        int pos = 0;
        if (_removeExtraWhitespaces)
        {
            while (pos < input.Length)
            {
                var p = NormalizePrefix(input, pos, out int consumed);
                if (p is not " ") break;
                pos += consumed;
            }
        }
        if (pos == input.Length) return 0;

        // One output char per input char at most (a replaced lone surrogate is one char), plus the dummy space.
        var output = scratch.NormalizedFor(input.Length - pos + 1);
        char space = _escapeWhitespaces ? SpaceSymbol : ' ';
        int n = 0;
        if (_addDummyPrefix && !_whitespaceAsSuffix) output[n++] = space;
        bool previousIsSpace = _removeExtraWhitespaces;
        while (pos < input.Length)
        {
            var piece = NormalizePrefix(input, pos, out int consumed);
            if (previousIsSpace)
                while (!piece.IsEmpty && piece[0] == ' ') piece = piece[1..];
            if (!piece.IsEmpty)
            {
                foreach (char c in piece) output[n++] = c == ' ' && _escapeWhitespaces ? SpaceSymbol : c;
                previousIsSpace = piece[^1] == ' ';
            }
            pos += consumed;
            if (!_removeExtraWhitespaces) previousIsSpace = false;
        }
        if (_removeExtraWhitespaces)
            while (n > 0 && output[n - 1] == space) n--;
        if (_addDummyPrefix && _whitespaceAsSuffix) output[n++] = space;
        return n;
    }

    /// <summary><c>Normalizer::NormalizePrefix</c> with no character map: the longest user-defined symbol at
    /// <paramref name="pos"/>, else one character.</summary>
    private ReadOnlySpan<char> NormalizePrefix(ReadOnlySpan<char> input, int pos, out int consumed)
    {
        int len = _userSymbols.Match(input, pos);
        if (len > 0)
        {
            consumed = len;
            return input.Slice(pos, len);
        }
        char c = input[pos];
        if (char.IsSurrogate(c))
        {
            if (char.IsHighSurrogate(c) && pos + 1 < input.Length && char.IsLowSurrogate(input[pos + 1]))
            {
                consumed = 2;
                return input.Slice(pos, 2);
            }
            consumed = 1;
            return "\uFFFD";
        }
        consumed = 1;
        return input.Slice(pos, 1);
    }

    /// <summary>The user-defined symbols, matched longest first at a position (sentencepiece's
    /// <c>PrefixMatcher::PrefixMatch</c>).</summary>
    private sealed class UserSymbols
    {
        private readonly SearchValues<char> _first;
        private readonly Dictionary<char, string[]> _byFirst;

        public UserSymbols(IEnumerable<string> symbols)
        {
            _byFirst = symbols.GroupBy(s => s[0])
                .ToDictionary(g => g.Key, g => g.OrderByDescending(s => s.Length).ToArray());
            _first = SearchValues.Create([.. _byFirst.Keys]);
        }

        /// <returns>The length of the longest symbol at <paramref name="pos"/>, or 0.</returns>
        public int Match(ReadOnlySpan<char> text, int pos)
        {
            char c = text[pos];
            if (!_first.Contains(c)) return 0;
            var rest = text[pos..];
            foreach (var symbol in _byFirst[c])
                if (rest.StartsWith(symbol, StringComparison.Ordinal)) return symbol.Length;
            return 0;
        }
    }

    private struct Symbol
    {
        public int Start;
        /// <summary>0 once merged into its left neighbour.</summary>
        public int Length;
        public int Prev;
        public int Next;
        /// <summary>A user-defined symbol: never merged.</summary>
        public bool Frozen;
        /// <summary>The piece id once merged; -1 for an initial symbol (looked up when emitted).</summary>
        public int PieceId;
    }

    /// <summary>Per-thread working memory, grown to the longest text seen and reused.</summary>
    private sealed class Scratch
    {
        public char[] Normalized = new char[256];
        public Symbol[] Symbols = new Symbol[256];
        public readonly ReusedHeap<SentencePieceMerge> Queue = new();
        /// <summary>UNUSED piece id -> where its two parts were (bpe_model.cc's <c>rev_merge</c>).</summary>
        public readonly Dictionary<int, (int Start, int LeftLength, int RightLength)> ReverseMerges = [];

        public char[] NormalizedFor(int length)
        {
            if (Normalized.Length < length) Normalized = new char[Math.Max(length, Normalized.Length * 2)];
            return Normalized;
        }

        public Symbol[] SymbolsFor(int length)
        {
            if (Symbols.Length < length) Symbols = new Symbol[Math.Max(length, Symbols.Length * 2)];
            return Symbols;
        }
    }

    [ThreadStatic] private static Scratch? t_scratch;
}
