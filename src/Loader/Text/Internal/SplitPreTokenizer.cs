using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>One step of a HF pre-tokenizer sequence that splits text into isolated pieces.</summary>
internal abstract class SplitStep
{
    /// <summary>Splits <paramref name="text"/>[offset..offset+length] and appends the pieces (absolute offsets).</summary>
    public abstract void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output);
}

/// <summary>HF <c>Split</c> with behavior <c>Isolated</c> (and ByteLevel's regex, which is the same): matches and
/// the gaps between them both become pieces.</summary>
internal sealed class RegexIsolatedStep(Regex regex) : SplitStep
{
    public Regex Regex { get; } = regex;

    public override void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
    {
        var piece = text.Slice(offset, length);
        int last = 0;
        foreach (var m in Regex.EnumerateMatches(piece))
        {
            if (m.Length == 0) continue;
            if (m.Index > last) output.Add((offset + last, m.Index - last));
            output.Add((offset + m.Index, m.Length));
            last = m.Index + m.Length;
        }
        if (last < length) output.Add((offset + last, length - last));
    }
}

/// <summary>HF <c>Digits</c>: numeric characters are isolated, one by one or as runs.</summary>
internal sealed class DigitsStep(bool individualDigits) : SplitStep
{
    public override void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
    {
        int end = offset + length;
        int runStart = offset;
        int i = offset;
        while (i < end)
        {
            if (IsNumeric(text[i]))
            {
                if (i > runStart) output.Add((runStart, i - runStart));
                int j = i + 1;
                if (!individualDigits)
                {
                    while (j < end && IsNumeric(text[j])) j++;
                }
                output.Add((i, j - i));
                i = j;
                runStart = j;
            }
            else
            {
                i++;
            }
        }
        if (end > runStart) output.Add((runStart, end - runStart));
    }

    private static bool IsNumeric(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}

/// <summary>
/// A <see cref="PreTokenizer"/> that applies HF pre-tokenizer split steps in sequence (each step splits every piece
/// the previous step produced). Special tokens are split off before this runs (see <see cref="AtomicTokenMatcher"/>).
/// </summary>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly SplitStep[] _steps;
    [ThreadStatic] private static List<(int Offset, int Length)>? s_a;
    [ThreadStatic] private static List<(int Offset, int Length)>? s_b;

    public SplitPreTokenizer(IReadOnlyList<SplitStep> steps) => _steps = [.. steps];

    internal IReadOnlyList<SplitStep> Steps => _steps;

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
        => text is null ? [] : PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        // The BPE model enumerates the result before it pre-tokenizes anything else on this thread, so the lists
        // are reused and the caller gets the list itself (no copy): steady state allocates nothing here.
        var a = s_a ??= new List<(int, int)>(64);
        var b = s_b ??= new List<(int, int)>(64);
        a.Clear();
        if (text.Length == 0) return Array.Empty<(int, int)>();
        a.Add((0, text.Length));
        foreach (var step in _steps)
        {
            b.Clear();
            foreach (var (o, l) in a) step.Split(text, o, l, b);
            (a, b) = (b, a);
        }
        s_a = a;
        s_b = b;
        return a;
    }
}
