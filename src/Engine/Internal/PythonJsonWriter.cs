using System.Globalization;
using System.Text;

namespace NanoVlm.Engine.Internal;

/// <summary>
/// Writes JSON the way Python's <c>json.dumps(obj, indent=4)</c> does (defaults: <c>ensure_ascii=True</c>,
/// separators <c>","</c> / <c>": "</c> with indent), so files nanoVLM writes can be reproduced byte for byte.
/// </summary>
internal sealed class PythonJsonWriter
{
    private readonly StringBuilder _sb = new();
    private readonly Stack<bool> _first = new();

    public void BeginObject(string? key = null)
    {
        if (key is not null) Key(key);
        _sb.Append('{');
        _first.Push(true);
    }

    public void EndObject()
    {
        bool empty = _first.Pop();
        if (!empty) NewLine(_first.Count);
        _sb.Append('}');
    }

    public void Int(string key, long value)
    {
        Key(key);
        _sb.Append(value.ToString(CultureInfo.InvariantCulture));
    }

    public void Float(string key, double value)
    {
        Key(key);
        _sb.Append(FormatFloat(value));
    }

    public void Bool(string key, bool value)
    {
        Key(key);
        _sb.Append(value ? "true" : "false");
    }

    public void String(string key, string value)
    {
        Key(key);
        AppendString(value);
    }

    public override string ToString() => _sb.ToString();

    private void Key(string key)
    {
        if (_first.Count > 0)
        {
            if (!_first.Peek()) _sb.Append(',');
            _first.Pop();
            _first.Push(false);
            NewLine(_first.Count);
        }
        AppendString(key);
        _sb.Append(": ");
    }

    private void NewLine(int depth) => _sb.Append('\n').Append(' ', 4 * depth);

    private void AppendString(string s)
    {
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\r': _sb.Append("\\r"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\b': _sb.Append("\\b"); break;
                case '\f': _sb.Append("\\f"); break;
                default:
                    // ensure_ascii: every non-ASCII UTF-16 unit (surrogates separately, as Python does) as \uxxxx.
                    if (c < 0x20 || c > 0x7e) _sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else _sb.Append(c);
                    break;
            }
        }
        _sb.Append('"');
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, fixed notation for decimal exponents in
    /// [-4, 16), else <c>d.ddde±XX</c>; integral values keep a <c>.0</c>.</summary>
    /// <param name="value">The number.</param>
    /// <returns>Its Python text.</returns>
    public static string FormatFloat(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsInfinity(value)) return value > 0 ? "Infinity" : "-Infinity";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
        // "R" is the shortest round-trip form (as Python's repr); re-parse it into digits + decimal exponent.
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOfAny(['E', 'e']);
        string mant = e >= 0 ? shortest[..e] : shortest;
        int baseExp = e >= 0 ? int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture) : 0;
        int dot = mant.IndexOf('.');
        string intPart = dot >= 0 ? mant[..dot] : mant;
        string frac = dot >= 0 ? mant[(dot + 1)..] : "";
        string all = (intPart + frac).TrimStart('0');
        int leadingZeros = (intPart + frac).Length - all.Length;
        int exp = baseExp + intPart.Length - 1 - leadingZeros;
        string digits = all.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sb = new StringBuilder();
        if (value < 0) sb.Append('-');
        if (exp >= -4 && exp < 16)
        {
            if (exp < 0)
                sb.Append("0.").Append('0', -exp - 1).Append(digits);
            else if (digits.Length <= exp + 1)
                sb.Append(digits).Append('0', exp + 1 - digits.Length).Append(".0");
            else
                sb.Append(digits, 0, exp + 1).Append('.').Append(digits, exp + 1, digits.Length - exp - 1);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
