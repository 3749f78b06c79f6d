using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A pre-tokenizer regex matched on Unicode scalar values, as HF tokenizers' Rust regex engines (Oniguruma,
/// fancy-regex) match it, although .NET's <see cref="Regex"/> matches UTF-16 code units: there <c>\p{L}</c> never
/// matches a surrogate pair and <c>\p{N}{1,3}</c> counts code units. Text without surrogates is matched as is. Text
/// with them is matched on a shadow copy with one char per scalar value: each astral scalar becomes a BMP stand-in of
/// the same general category (so <c>\p{..}</c>, <c>\s</c>, <c>[^...]</c> and counted repeats see what the Rust engines
/// see), and match positions are mapped back. The stand-ins are chosen outside the literal characters and ranges of
/// the common families' patterns (ASCII, CJK, kana, apostrophe contractions); a pattern whose literal characters or
/// ranges include a stand-in would also match the astral scalars it stands for.
/// </summary>
internal sealed class ScalarRegex
{
    private static readonly char[] s_standIn = BuildStandIns();
    [ThreadStatic] private static char[]? t_shadow;
    [ThreadStatic] private static int[]? t_map;
    [ThreadStatic] private static List<(int Index, int Length)>? t_found;

    private const RegexOptions Options = RegexOptions.Compiled | RegexOptions.CultureInvariant;
    private readonly ThreadLocal<Regex> _perThread;
    private Regex? _first;

    public ScalarRegex(string pattern)
    {
        Pattern = pattern;
        _first = new Regex(pattern, Options); // compiled now, so a bad pattern fails at load
        // One Regex per thread: a Regex holds one cached runner, and a thread that matches while another thread holds
        // it allocates a new runner (Regex.RunSingleMatch), so loader workers sharing one instance would allocate.
        _perThread = new ThreadLocal<Regex>(() => Interlocked.Exchange(ref _first, null) ?? new Regex(pattern, Options));
    }

    public string Pattern { get; }

    /// <summary>The calling thread's instance of the compiled regex.</summary>
    public Regex Regex => _perThread.Value!;

    /// <summary>HF <c>Split(Isolated)</c> in one pass: appends the matches and the gaps between them as pieces
    /// (absolute offsets). Text without surrogates (the common case) is matched directly, with no copy.</summary>
    public void SplitIsolated(ReadOnlySpan<char> text, int offset, List<(int Offset, int Length)> output)
    {
        if (CharClasses.IndexOfSurrogate(text) >= 0)
        {
            var found = t_found ??= new(32);
            found.Clear();
            Matches(text, offset, found);
            int at = offset;
            foreach (var (index, len) in found)
            {
                if (index > at) output.Add((at, index - at));
                output.Add((index, len));
                at = index + len;
            }
            if (at < offset + text.Length) output.Add((at, offset + text.Length - at));
            return;
        }
        int last = 0;
        foreach (var m in Regex.EnumerateMatches(text))
        {
            if (m.Length == 0) continue;
            if (m.Index > last) output.Add((offset + last, m.Index - last));
            output.Add((offset + m.Index, m.Length));
            last = m.Index + m.Length;
        }
        if (last < text.Length) output.Add((offset + last, text.Length - last));
    }

    /// <summary>Appends the non-empty matches in <paramref name="text"/> as (index, length) in UTF-16 units of
    /// <paramref name="text"/>, each shifted by <paramref name="offset"/>.</summary>
    public void Matches(ReadOnlySpan<char> text, int offset, List<(int Index, int Length)> output)
    {
        if (CharClasses.IndexOfSurrogate(text) < 0)
        {
            foreach (var m in Regex.EnumerateMatches(text))
                if (m.Length > 0) output.Add((offset + m.Index, m.Length));
            return;
        }
        var shadow = t_shadow is { } s && s.Length >= text.Length ? s : t_shadow = new char[Math.Max(text.Length, 256)];
        var map = t_map is { } mp && mp.Length > text.Length ? mp : t_map = new int[Math.Max(text.Length + 1, 257)];
        int n = 0;
        for (int i = 0; i < text.Length;)
        {
            map[n] = i;
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out int used) == OperationStatus.Done && used == 2)
            {
                shadow[n++] = s_standIn[(int)Rune.GetUnicodeCategory(rune)];
                i += 2;
            }
            else
            {
                shadow[n++] = text[i]; // BMP char, or a lone surrogate kept as is
                i++;
            }
        }
        map[n] = text.Length;
        foreach (var m in Regex.EnumerateMatches(shadow.AsSpan(0, n)))
        {
            if (m.Length == 0) continue;
            int start = map[m.Index];
            output.Add((offset + start, map[m.Index + m.Length] - start));
        }
    }

    /// <summary>A BMP char of each general category (<see cref="UnicodeCategory"/> order), stable since Unicode 1.1–3.2.
    /// Categories with no astral members (space/line/paragraph separators, controls) keep a char of their own kind.</summary>
    private static char[] BuildStandIns()
    {
        var t = new char[30];
        t[(int)UnicodeCategory.UppercaseLetter] = '\u0410';       // CYRILLIC CAPITAL A
        t[(int)UnicodeCategory.LowercaseLetter] = '\u0430';       // CYRILLIC SMALL A
        t[(int)UnicodeCategory.TitlecaseLetter] = '\u01C5';
        t[(int)UnicodeCategory.ModifierLetter] = '\u02B0';
        t[(int)UnicodeCategory.OtherLetter] = '\u05D0';           // HEBREW ALEF (not CJK/kana: DeepSeek's ranges)
        t[(int)UnicodeCategory.NonSpacingMark] = '\u0300';
        t[(int)UnicodeCategory.SpacingCombiningMark] = '\u0903';
        t[(int)UnicodeCategory.EnclosingMark] = '\u20DD';
        t[(int)UnicodeCategory.DecimalDigitNumber] = '\u0660';    // ARABIC-INDIC ZERO (not ASCII 0-9)
        t[(int)UnicodeCategory.LetterNumber] = '\u2160';
        t[(int)UnicodeCategory.OtherNumber] = '\u00B2';
        t[(int)UnicodeCategory.SpaceSeparator] = '\u2000';
        t[(int)UnicodeCategory.LineSeparator] = '\u2028';
        t[(int)UnicodeCategory.ParagraphSeparator] = '\u2029';
        t[(int)UnicodeCategory.Control] = '\u0001';
        t[(int)UnicodeCategory.Format] = '\u00AD';
        t[(int)UnicodeCategory.Surrogate] = '\uFFFD';             // unreachable: a valid pair is never Cs
        t[(int)UnicodeCategory.PrivateUse] = '\uE000';
        t[(int)UnicodeCategory.ConnectorPunctuation] = '\u203F';
        t[(int)UnicodeCategory.DashPunctuation] = '\u2010';
        t[(int)UnicodeCategory.OpenPunctuation] = '\u2045';
        t[(int)UnicodeCategory.ClosePunctuation] = '\u2046';
        t[(int)UnicodeCategory.InitialQuotePunctuation] = '\u00AB';
        t[(int)UnicodeCategory.FinalQuotePunctuation] = '\u00BB';
        t[(int)UnicodeCategory.OtherPunctuation] = '\u00A1';
        t[(int)UnicodeCategory.MathSymbol] = '\u00D7';
        t[(int)UnicodeCategory.CurrencySymbol] = '\u00A3';
        t[(int)UnicodeCategory.ModifierSymbol] = '\u02C2';
        t[(int)UnicodeCategory.OtherSymbol] = '\u00A6';
        t[(int)UnicodeCategory.OtherNotAssigned] = '\uFFFF';      // a noncharacter: Cn in every Unicode version
        return t;
    }

    /// <summary>The stand-ins, for tests (each must have its category).</summary>
    internal static ReadOnlySpan<char> StandIns => s_standIn;
}
