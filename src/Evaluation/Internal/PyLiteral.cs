using System.Globalization;
using System.Text;

namespace NanoVlm.Evaluation.Internal;

/// <summary>
/// <c>ast.literal_eval</c> for what MMMU stores in its <c>options</c> column: the <c>repr</c> of a Python list of
/// strings, e.g. <c>['cat', "it's"]</c> (single- or double-quoted items, backslash escapes).
/// </summary>
internal static class PyLiteral
{
    public static List<string> ParseStringList(string text, string what)
    {
        var items = new List<string>();
        int i = 0;
        SkipSpace(text, ref i);
        Expect(text, ref i, '[', what);
        SkipSpace(text, ref i);
        if (i < text.Length && text[i] == ']') { i++; return End(text, i, what, items); }
        while (true)
        {
            SkipSpace(text, ref i);
            items.Add(ParseString(text, ref i, what));
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == ',')
            {
                i++;
                SkipSpace(text, ref i);
                if (i < text.Length && text[i] == ']') { i++; break; }
                continue;
            }
            Expect(text, ref i, ']', what);
            break;
        }
        return End(text, i, what, items);
    }

    private static List<string> End(string text, int i, string what, List<string> items)
    {
        SkipSpace(text, ref i);
        if (i != text.Length) throw new FormatException($"{what}: unexpected text after the list at offset {i}");
        return items;
    }

    private static void SkipSpace(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r') i++;
    }

    private static void Expect(string s, ref int i, char c, string what)
    {
        if (i >= s.Length || s[i] != c) throw new FormatException($"{what}: expected '{c}' at offset {i} of a Python list of strings");
        i++;
    }

    private static string ParseString(string s, ref int i, string what)
    {
        if (i >= s.Length || s[i] is not ('\'' or '"')) throw new FormatException($"{what}: expected a quoted string at offset {i}");
        char quote = s[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= s.Length) throw new FormatException($"{what}: unterminated string");
            char c = s[i++];
            if (c == quote) return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= s.Length) throw new FormatException($"{what}: unterminated escape");
            char e = s[i++];
            switch (e)
            {
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '0' when i >= s.Length || !char.IsAsciiDigit(s[i]): sb.Append('\0'); break;
                case 'x': sb.Append((char)Hex(s, ref i, 2, what)); break;
                case 'u': sb.Append((char)Hex(s, ref i, 4, what)); break;
                case 'U': sb.Append(char.ConvertFromUtf32(Hex(s, ref i, 8, what))); break;
                case '\n': break;
                default: sb.Append('\\').Append(e); break; // Python keeps unknown escapes
            }
        }
    }

    private static int Hex(string s, ref int i, int digits, string what)
    {
        if (i + digits > s.Length || !int.TryParse(s.AsSpan(i, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw new FormatException($"{what}: bad \\x/\\u escape at offset {i}");
        i += digits;
        return v;
    }
}
