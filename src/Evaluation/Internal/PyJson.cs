using System.Globalization;
using System.Numerics;
using System.Text;

namespace NanoVlm.Evaluation.Internal;

/// <summary>
/// JSON as Python's <c>json</c> module reads and writes it, for nanoVLM's result files: the reader accepts what
/// <c>json.load</c> accepts (NaN, Infinity, -Infinity; duplicate keys keep the first position and the last value;
/// integers of any size stay integers); the writer produces <c>json.dump(obj, f, indent=4)</c> byte for byte
/// (ensure_ascii escapes, floats as <c>repr</c>, no trailing newline).
/// </summary>
internal static class PyJson
{
    /// <summary>A float, or an integer kept as its decimal text (Python ints are unbounded).</summary>
    public sealed record Number(double Float, BigInteger? Integer)
    {
        public override string ToString() => Integer?.ToString(CultureInfo.InvariantCulture) ?? FloatText(Float);
    }

    /// <summary>Parses one JSON document (objects become ordered lists of pairs: <c>List&lt;KeyValuePair&lt;string, object?&gt;&gt;</c>).</summary>
    /// <exception cref="FormatException">Not valid JSON for Python (message with the offset).</exception>
    public static object? Parse(string text)
    {
        int i = 0;
        var value = ParseValue(text, ref i);
        SkipWs(text, ref i);
        if (i != text.Length) throw new FormatException($"extra data at offset {i}");
        return value;
    }

    private static void SkipWs(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r') i++;
    }

    private static object? ParseValue(string s, ref int i)
    {
        SkipWs(s, ref i);
        if (i >= s.Length) throw new FormatException($"expecting a value at offset {i}");
        char c = s[i];
        if (c == '{') return ParseObject(s, ref i);
        if (c == '[')
        {
            i++;
            var list = new List<object?>();
            SkipWs(s, ref i);
            if (i < s.Length && s[i] == ']') { i++; return list; }
            while (true)
            {
                list.Add(ParseValue(s, ref i));
                SkipWs(s, ref i);
                if (i < s.Length && s[i] == ',') { i++; continue; }
                if (i < s.Length && s[i] == ']') { i++; return list; }
                throw new FormatException($"expecting ',' or ']' at offset {i}");
            }
        }
        if (c == '"') return ParseString(s, ref i);
        foreach (var (word, value) in new (string, object?)[] { ("true", true), ("false", false), ("null", null),
                     ("NaN", new Number(double.NaN, null)), ("Infinity", new Number(double.PositiveInfinity, null)),
                     ("-Infinity", new Number(double.NegativeInfinity, null)) })
            if (string.CompareOrdinal(s, i, word, 0, word.Length) == 0) { i += word.Length; return value; }
        return ParseNumber(s, ref i);
    }

    private static List<KeyValuePair<string, object?>> ParseObject(string s, ref int i)
    {
        i++;
        var pairs = new List<KeyValuePair<string, object?>>();
        SkipWs(s, ref i);
        if (i < s.Length && s[i] == '}') { i++; return pairs; }
        while (true)
        {
            SkipWs(s, ref i);
            if (i >= s.Length || s[i] != '"') throw new FormatException($"expecting a property name in double quotes at offset {i}");
            string key = ParseString(s, ref i);
            SkipWs(s, ref i);
            if (i >= s.Length || s[i] != ':') throw new FormatException($"expecting ':' at offset {i}");
            i++;
            var value = ParseValue(s, ref i);
            int at = pairs.FindIndex(p => p.Key == key);
            if (at >= 0) pairs[at] = new(key, value); else pairs.Add(new(key, value));
            SkipWs(s, ref i);
            if (i < s.Length && s[i] == ',') { i++; continue; }
            if (i < s.Length && s[i] == '}') { i++; return pairs; }
            throw new FormatException($"expecting ',' or '}}' at offset {i}");
        }
    }

    private static string ParseString(string s, ref int i)
    {
        int start = i++;
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= s.Length) throw new FormatException($"unterminated string starting at offset {start}");
            char c = s[i++];
            if (c == '"') return sb.ToString();
            if (c < 0x20) throw new FormatException($"invalid control character at offset {i - 1}");
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= s.Length) throw new FormatException($"unterminated string starting at offset {start}");
            char e = s[i++];
            switch (e)
            {
                case '"': case '\\': case '/': sb.Append(e); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    if (i + 4 > s.Length || !ushort.TryParse(s.AsSpan(i, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var u))
                        throw new FormatException($"invalid \\uXXXX escape at offset {i - 2}");
                    sb.Append((char)u);
                    i += 4;
                    break;
                default: throw new FormatException($"invalid \\escape at offset {i - 2}");
            }
        }
    }

    private static Number ParseNumber(string s, ref int i)
    {
        int start = i;
        if (i < s.Length && s[i] == '-') i++;
        if (i < s.Length && s[i] == '0') i++;
        else if (i < s.Length && s[i] is >= '1' and <= '9') while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        else throw new FormatException($"expecting a value at offset {start}");
        bool isFloat = false;
        if (i < s.Length && s[i] == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))
        {
            isFloat = true;
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < s.Length && s[j] is '+' or '-') j++;
            if (j < s.Length && char.IsAsciiDigit(s[j]))
            {
                isFloat = true;
                i = j;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            }
        }
        var text = s[start..i];
        return isFloat
            ? new Number(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), null)
            : new Number(0, BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
    }

    /// <summary><c>json.dumps(value, indent=4)</c>.</summary>
    public static string Write(object? value)
    {
        var sb = new StringBuilder();
        WriteValue(sb, value, 0);
        return sb.ToString();
    }

    private static void WriteValue(StringBuilder sb, object? value, int depth)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case Number n: sb.Append(n.ToString()); break;
            case double d: sb.Append(FloatText(d)); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case IReadOnlyList<KeyValuePair<string, object?>> pairs:
                if (pairs.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                for (int k = 0; k < pairs.Count; k++)
                {
                    sb.Append(k == 0 ? "" : ",").Append('\n').Append(' ', 4 * (depth + 1));
                    WriteString(sb, pairs[k].Key);
                    sb.Append(": ");
                    WriteValue(sb, pairs[k].Value, depth + 1);
                }
                sb.Append('\n').Append(' ', 4 * depth).Append('}');
                break;
            case IReadOnlyList<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int k = 0; k < list.Count; k++)
                {
                    sb.Append(k == 0 ? "" : ",").Append('\n').Append(' ', 4 * (depth + 1));
                    WriteValue(sb, list[k], depth + 1);
                }
                sb.Append('\n').Append(' ', 4 * depth).Append(']');
                break;
            default: throw new ArgumentException($"cannot write {value.GetType().Name} as JSON");
        }
    }

    /// <summary>A float as <c>json</c> writes it: <c>repr</c>, or NaN / Infinity / -Infinity.</summary>
    public static string FloatText(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFloat.Repr(d);

    // json's ensure_ascii: '"', '\\' and everything outside ' '..'~' escaped; \n \r \t \b \f by name.
    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c >= ' ' && c <= '~') sb.Append(c);
                    else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        sb.Append('"');
    }
}
