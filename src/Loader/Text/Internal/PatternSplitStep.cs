namespace NanoVlm.Loader.Text.Internal;

/// <summary>What HF's <c>Split</c> pre-tokenizer does with the matches (Rust <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    /// <summary>Matches are removed.</summary>
    Removed,
    /// <summary>Matches and the text between them are separate pieces.</summary>
    Isolated,
    /// <summary>Each match is joined to the piece before it.</summary>
    MergedWithPrevious,
    /// <summary>Each match is joined to the piece after it.</summary>
    MergedWithNext,
    /// <summary>Adjacent matches are joined into one piece.</summary>
    Contiguous,
}

/// <summary>
/// HF <c>Split</c> (and ByteLevel's regex, which is <c>Split(regex, Isolated)</c>): a regex or a literal string,
/// a behaviour and <c>invert</c>, as tokenizers' <c>NormalizedString::split</c> applies them: the piece becomes
/// alternating (span, is-match) runs (flags flipped when inverted), then joined or dropped by the behaviour; empty
/// pieces are dropped. Regexes match on Unicode scalar values (<see cref="ScalarRegex"/>).
/// </summary>
internal sealed class PatternSplitStep : SplitStep
{
    private readonly ScalarRegex? _regex;
    private readonly string? _literal;
    private readonly SplitBehavior _behavior;
    private readonly bool _invert;
    [ThreadStatic] private static List<(int Index, int Length)>? t_matches;
    [ThreadStatic] private static List<(int Start, int End, bool Match)>? t_runs;
    [ThreadStatic] private static List<(int Start, int End, bool Match)>? t_joined;

    public PatternSplitStep(ScalarRegex regex, SplitBehavior behavior = SplitBehavior.Isolated, bool invert = false)
    {
        _regex = regex;
        _behavior = behavior;
        _invert = invert;
    }

    public PatternSplitStep(string literal, SplitBehavior behavior, bool invert)
    {
        ArgumentException.ThrowIfNullOrEmpty(literal);
        _literal = literal;
        _behavior = behavior;
        _invert = invert;
    }

    public ScalarRegex? Regex => _regex;

    public override void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
    {
        var piece = text.Slice(offset, length);
        if (_regex is not null && _behavior == SplitBehavior.Isolated && !_invert)
        {
            _regex.SplitIsolated(piece, offset, output); // the hot path: every byte-level family
            return;
        }
        var matches = t_matches ??= new(32);
        matches.Clear();
        if (_regex is not null) _regex.Matches(piece, offset, matches);
        else
        {
            int at = 0;
            while (at < piece.Length)
            {
                int i = piece[at..].IndexOf(_literal.AsSpan());
                if (i < 0) break;
                matches.Add((offset + at + i, _literal!.Length));
                at += i + _literal!.Length;
            }
        }
        var runs = t_runs ??= new(32);
        runs.Clear();
        int prev = offset;
        foreach (var (index, len) in matches)
        {
            if (index > prev) runs.Add((prev, index, _invert));
            runs.Add((index, index + len, !_invert));
            prev = index + len;
        }
        if (prev < offset + length) runs.Add((prev, offset + length, _invert));
        Apply(runs);
        foreach (var (start, end, drop) in runs)
            if (!drop && end > start) output.Add((start, end - start));
    }

    /// <summary>Rewrites the runs in place to (start, end, remove) as tokenizers' <c>split</c> does per behaviour.</summary>
    private void Apply(List<(int Start, int End, bool Match)> runs)
    {
        switch (_behavior)
        {
            case SplitBehavior.Isolated:
                for (int i = 0; i < runs.Count; i++) runs[i] = runs[i] with { Match = false };
                return;
            case SplitBehavior.Removed:
                return; // matches are removed: the flag already says so
            case SplitBehavior.MergedWithPrevious:
            {
                var result = Joined(runs.Count);
                bool previousMatch = false;
                foreach (var (s, e, m) in runs)
                {
                    if (m && !previousMatch && result.Count > 0) result[^1] = (result[^1].Start, e, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                CopyBack(result, runs);
                return;
            }
            case SplitBehavior.MergedWithNext:
            {
                var result = Joined(runs.Count);
                bool previousMatch = false;
                for (int i = runs.Count - 1; i >= 0; i--)
                {
                    var (s, e, m) = runs[i];
                    if (m && !previousMatch && result.Count > 0) result[^1] = (s, result[^1].End, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                result.Reverse();
                CopyBack(result, runs);
                return;
            }
            case SplitBehavior.Contiguous:
            {
                var result = Joined(runs.Count);
                bool previousMatch = false;
                foreach (var (s, e, m) in runs)
                {
                    if (m == previousMatch && result.Count > 0) result[^1] = (result[^1].Start, e, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                CopyBack(result, runs);
                return;
            }
        }
    }

    /// <summary>This thread's reused list for the joined runs.</summary>
    private static List<(int Start, int End, bool Match)> Joined(int capacity)
    {
        var list = t_joined ??= new(Math.Max(32, capacity));
        list.Clear();
        return list;
    }

    private static void CopyBack(List<(int Start, int End, bool Match)> from, List<(int Start, int End, bool Match)> to)
    {
        to.Clear();
        foreach (var run in from) to.Add(run);
    }
}
