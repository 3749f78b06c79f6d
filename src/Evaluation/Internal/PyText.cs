using System.Globalization;
using System.Text;

namespace NanoVlm.Evaluation.Internal;

/// <summary>
/// CPython's <c>str</c> operations that lmms-eval's metrics use, on .NET strings: <c>lower()</c> / <c>upper()</c> with
/// full case mapping (ß → SS, İ → i̇) and the final-sigma rule, <c>strip()</c> / <c>split()</c> with Python's whitespace
/// (which includes U+001C–U+001F), and lengths and indexes in code points, since Python counts code points where .NET
/// counts UTF-16 units. Checked code point by code point against Python (tests/fixtures/eval/python_text.txt).
/// </summary>
internal static class PyText
{
    /// <summary>Python's <c>str.isspace()</c> for one code point (<c>Py_UNICODE_ISSPACE</c>).</summary>
    public static bool IsSpace(int cp) =>
        cp <= 0xFFFF && (char.IsWhiteSpace((char)cp) || (cp >= 0x1C && cp <= 0x1F));

    /// <summary>Python's <c>str.isdecimal()</c> for one code point (general category Nd).</summary>
    public static bool IsDecimal(int cp) =>
        Known(cp) && Rune.GetUnicodeCategory(new Rune(cp)) == UnicodeCategory.DecimalDigitNumber;

    /// <summary>
    /// Whether Python's Unicode database (14.0 in Python 3.11) assigns <paramref name="cp"/>: code points that only
    /// .NET's newer database knows have no case mapping and no properties in Python.
    /// </summary>
    public static bool Known(int cp)
    {
        if (!Rune.IsValid(cp)) return false;
        var ranges = PythonSpecialCasing.Unassigned;
        int lo = 0, hi = ranges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < ranges[2 * mid]) hi = mid - 1;
            else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
            else return false;
        }
        return true;
    }

    // A .NET mapping to a code point Python does not know (added to Unicode after 14.0) is no mapping in Python.
    private static int Mapped(int cp, int to) => to == cp || Known(to) ? to : cp;

    /// <summary>The digit value of a decimal code point (see <see cref="IsDecimal"/>).</summary>
    public static int DecimalValue(int cp) => (int)Rune.GetNumericValue(new Rune(cp));

    /// <summary><c>s.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary><c>s.strip(chars)</c>: removes any of <paramref name="chars"/> (BMP characters) from both ends.</summary>
    public static string Strip(string s, string chars) => s.Trim(chars.ToCharArray());

    /// <summary><c>s.rstrip(chars)</c> for BMP characters.</summary>
    public static string RStrip(string s, string chars) => s.TrimEnd(chars.ToCharArray());

    /// <summary><c>s.split()</c>: runs of Python whitespace separate words; no empty words.</summary>
    public static List<string> Split(string s)
    {
        var words = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && IsSpace(s[i])) i++;
            int start = i;
            while (i < s.Length && !IsSpace(s[i])) i++;
            if (i > start) words.Add(s[start..i]);
        }
        return words;
    }

    /// <summary><c>" ".join(s.split())</c>.</summary>
    public static string CollapseSpaces(string s) => string.Join(' ', Split(s));

    /// <summary><c>len(s)</c>: the number of code points (a lone surrogate counts as one, as in Python).</summary>
    public static int Length(string s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++, n++)
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
        return n;
    }

    /// <summary>The code points of <paramref name="s"/> (<c>list(s)</c>).</summary>
    public static int[] CodePoints(string s)
    {
        var cps = new int[Length(s)];
        int k = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cps[k++] = char.ConvertToUtf32(s[i], s[i + 1]);
                i++;
            }
            else cps[k++] = s[i];
        }
        return cps;
    }

    /// <summary><c>s[index]</c> as a code point, or -1 when <paramref name="index"/> is past the end (Python's IndexError).</summary>
    public static int CodePointAt(string s, int index)
    {
        int k = 0;
        for (int i = 0; i < s.Length; i++, k++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                cp = char.ConvertToUtf32(s[i], s[++i]);
            if (k == index) return cp;
        }
        return -1;
    }

    /// <summary><c>s[:count]</c> in code points.</summary>
    public static string Prefix(string s, int count)
    {
        int k = 0, i = 0;
        for (; i < s.Length && k < count; i++, k++)
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
        return s[..i];
    }

    /// <summary><c>s.lower()</c>.</summary>
    public static string Lower(string s)
    {
        var sb = new StringBuilder(s.Length);
        LowerInto(sb, CodePoints(s), 0);
        return sb.ToString();
    }

    /// <summary>
    /// <c>s.capitalize()</c>: the first code point in title case (ß → Ss, ǆ → ǅ), the rest lower-cased (with the
    /// final-sigma rule seeing the whole string), as CPython's <c>do_capitalize</c>.
    /// </summary>
    public static string Capitalize(string s)
    {
        var cps = CodePoints(s);
        var sb = new StringBuilder(s.Length);
        if (cps.Length == 0) return "";
        int first = cps[0];
        if (PythonSpecialCasing.Title.TryGetValue(first, out var title)) sb.Append(title);
        else if (PythonSpecialCasing.Upper.TryGetValue(first, out var many)) sb.Append(many);
        else Append(sb, Known(first) ? Mapped(first, Rune.ToUpperInvariant(new Rune(first)).Value) : first);
        LowerInto(sb, cps, 1);
        return sb.ToString();
    }

    private static void LowerInto(StringBuilder sb, int[] cps, int start)
    {
        for (int i = start; i < cps.Length; i++)
        {
            int cp = cps[i];
            if (cp == 0x03A3) sb.Append(FinalSigma(cps, i) ? '\u03C2' : '\u03C3');
            else if (PythonSpecialCasing.Lower.TryGetValue(cp, out var many)) sb.Append(many);
            else Append(sb, Known(cp) ? Mapped(cp, Rune.ToLowerInvariant(new Rune(cp)).Value) : cp);
        }
    }

    /// <summary><c>s.upper()</c>.</summary>
    public static string Upper(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (int cp in CodePoints(s))
        {
            if (PythonSpecialCasing.Upper.TryGetValue(cp, out var many)) sb.Append(many);
            else Append(sb, Known(cp) ? Mapped(cp, Rune.ToUpperInvariant(new Rune(cp)).Value) : cp);
        }
        return sb.ToString();
    }

    /// <summary><c>ch.isupper()</c> for one code point (Lu and Other_Uppercase).</summary>
    public static bool IsUpper(int cp)
    {
        if (!Known(cp)) return false;
        return Rune.IsUpper(new Rune(cp)) || cp is (>= 0x2160 and <= 0x216F) or (>= 0x24B6 and <= 0x24CF)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);
    }

    /// <summary>Appends one code point (a lone surrogate as itself).</summary>
    public static void Append(StringBuilder sb, int cp)
    {
        if (cp > 0xFFFF) sb.Append(char.ConvertFromUtf32(cp));
        else sb.Append((char)cp);
    }

    // CPython unicodeobject.c handle_capital_sigma: U+03A3 lowers to ς when preceded by a cased letter (skipping
    // case-ignorable ones) and not followed by one.
    private static bool FinalSigma(int[] cps, int i)
    {
        int j = i - 1;
        while (j >= 0 && IsCaseIgnorable(cps[j])) j--;
        if (j < 0 || !IsCased(cps[j])) return false;
        j = i + 1;
        while (j < cps.Length && IsCaseIgnorable(cps[j])) j++;
        return j == cps.Length || !IsCased(cps[j]);
    }

    /// <summary>Unicode's Cased property (Lu, Ll, Lt, and the letters and symbols that have a case mapping).</summary>
    public static bool IsCased(int cp)
    {
        if (!Known(cp)) return false;
        var r = new Rune(cp);
        var cat = Rune.GetUnicodeCategory(r);
        return cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            || Mapped(cp, Rune.ToLowerInvariant(r).Value) != cp || Mapped(cp, Rune.ToUpperInvariant(r).Value) != cp || OtherCased(cp);
    }

    // Other_Lowercase / Other_Uppercase code points without a case mapping outside Lm (Lm is case-ignorable anyway).
    private static bool OtherCased(int cp) =>
        cp is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9) or (>= 0x1F130 and <= 0x1F149)
            or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);

    /// <summary>Unicode's Case_Ignorable property (Mn, Me, Cf, Lm, Sk, and the MidLetter/MidNumLet/Single_Quote marks).</summary>
    public static bool IsCaseIgnorable(int cp)
    {
        if (!Known(cp)) return false;
        if (cp == 0x1171E) return true; // Ahom sign: Mn in Unicode 14, Mc in .NET's newer data
        var cat = Rune.GetUnicodeCategory(new Rune(cp));
        if (cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
            return true;
        return cp is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
    }
}
