using System.Globalization;
using System.Numerics;
using System.Text;

namespace NanoVlm.Evaluation.Internal;

/// <summary>CPython's <c>float(str)</c>, <c>round(x, n)</c> and <c>repr(x)</c> for doubles.</summary>
internal static class PyFloat
{
    /// <summary>
    /// <c>float(s)</c>, or false where Python raises ValueError. As CPython's <c>PyFloat_FromString</c>: non-ASCII
    /// whitespace becomes a space and Unicode decimal digits become ASCII digits (anything else non-ASCII fails), then
    /// ASCII whitespace (not U+001C–U+001F) is stripped, underscores are allowed only between digits, and the rest must
    /// be a decimal literal with optional exponent, or inf / infinity / nan in any case, with an optional sign.
    /// </summary>
    public static bool TryParse(string s, out double value)
    {
        value = 0;
        var ascii = new StringBuilder(s.Length);
        foreach (int cp in PyText.CodePoints(s))
        {
            if (cp < 127) ascii.Append((char)cp);
            else if (PyText.IsSpace(cp)) ascii.Append(' ');
            else if (PyText.IsDecimal(cp)) ascii.Append((char)('0' + PyText.DecimalValue(cp)));
            else return false;
        }
        var t = ascii.ToString();
        if (t.Contains('_'))
        {
            // Python/pystrtod.c _Py_string_to_number_with_underscores: '_' only between two digits.
            var sb = new StringBuilder(t.Length);
            char prev = '\0';
            foreach (char c in t)
            {
                if (c == '_') { if (!char.IsAsciiDigit(prev)) return false; }
                else
                {
                    if (prev == '_' && !char.IsAsciiDigit(c)) return false;
                    sb.Append(c);
                }
                prev = c;
            }
            if (prev == '_') return false;
            t = sb.ToString();
        }
        t = t.Trim(' ', '\t', '\n', '\v', '\f', '\r');
        int i = 0;
        bool negative = false;
        if (i < t.Length && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
        var rest = t[i..];
        if (rest.Equals("inf", StringComparison.OrdinalIgnoreCase) || rest.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (rest.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return true;
        }
        int intDigits = 0, fracDigits = 0, p = 0;
        while (p < rest.Length && char.IsAsciiDigit(rest[p])) { p++; intDigits++; }
        if (p < rest.Length && rest[p] == '.')
        {
            p++;
            while (p < rest.Length && char.IsAsciiDigit(rest[p])) { p++; fracDigits++; }
        }
        if (intDigits + fracDigits == 0) return false;
        if (p < rest.Length && (rest[p] == 'e' || rest[p] == 'E'))
        {
            p++;
            if (p < rest.Length && (rest[p] == '+' || rest[p] == '-')) p++;
            int expDigits = 0;
            while (p < rest.Length && char.IsAsciiDigit(rest[p])) { p++; expDigits++; }
            if (expDigits == 0) return false;
        }
        if (p != rest.Length) return false;
        value = double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>
    /// <c>round(x, digits)</c> for digits ≥ 0: the exact binary value rounded half-to-even at that decimal place
    /// (so <c>round(0.125, 2) == 0.12</c> but <c>round(0.005, 2) == 0.01</c>), then read back as the nearest double.
    /// </summary>
    public static double Round(double x, int digits)
    {
        if (!double.IsFinite(x) || x == 0) return x;
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        int e = exp - 1075; // |x| = mant * 2^e
        if (e >= 0) return x;
        var num = new BigInteger(mant) * BigInteger.Pow(10, digits);
        var den = BigInteger.One << -e;
        var q = BigInteger.DivRem(num, den, out var r);
        int cmp = (r * 2).CompareTo(den);
        if (cmp > 0 || (cmp == 0 && !q.IsEven)) q += 1;
        var rounded = double.Parse($"{q}e-{digits}", NumberStyles.Float, CultureInfo.InvariantCulture);
        return x < 0 ? -rounded : rounded;
    }

    /// <summary><c>repr(x)</c> (also what <c>json.dumps</c> writes, with NaN / Infinity / -Infinity for the rest).</summary>
    public static string Repr(double x)
    {
        if (double.IsNaN(x)) return "nan";
        if (double.IsPositiveInfinity(x)) return "inf";
        if (double.IsNegativeInfinity(x)) return "-inf";
        if (x == 0) return double.IsNegative(x) ? "-0.0" : "0.0";
        // .NET's "R" is the shortest round-trip digit string, as Python's repr; only the layout differs.
        var shortest = Math.Abs(x).ToString("R", CultureInfo.InvariantCulture);
        int ePos = shortest.IndexOfAny(['E', 'e']);
        string mantissa = ePos < 0 ? shortest : shortest[..ePos];
        int exp10 = ePos < 0 ? 0 : int.Parse(shortest[(ePos + 1)..], CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int decpt = (dot < 0 ? mantissa.Length : dot) + exp10;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..];
        decpt -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sb = new StringBuilder();
        if (x < 0) sb.Append('-');
        if (decpt <= -4 || decpt > 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (decpt <= 0) sb.Append("0.").Append('0', -decpt).Append(digits);
        else if (decpt >= digits.Length) sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
        else sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        return sb.ToString();
    }
}
