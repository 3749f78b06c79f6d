using System.Numerics;

namespace NanoVlm.Evaluation.Internal;

/// <summary>
/// Python's <c>statistics.mean</c> over floats: the sum is exact (fractions) and the quotient is rounded once to the
/// nearest double, unlike <c>sum(xs) / len(xs)</c>.
/// </summary>
internal static class ExactMean
{
    private const int Scale = 1074; // every finite double is an integer multiple of 2^-1074

    public static double Of(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) throw new ArgumentException("statistics.mean requires at least one data point", nameof(xs));
        BigInteger sum = BigInteger.Zero;
        foreach (var x in xs)
        {
            if (!double.IsFinite(x)) return xs.Sum();
            sum += Scaled(x);
        }
        return RoundedQuotient(sum, new BigInteger(xs.Count) << Scale);
    }

    private static BigInteger Scaled(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        var v = new BigInteger(mant) << (exp - 1);  // mant * 2^(exp-1075) * 2^1074
        return x < 0 ? -v : v;
    }

    /// <summary>num / den rounded half-to-even to a double (den &gt; 0; the result must be a normal double or 0).</summary>
    public static double RoundedQuotient(BigInteger num, BigInteger den)
    {
        if (num.IsZero) return 0.0;
        bool negative = num.Sign < 0;
        num = BigInteger.Abs(num);
        long shift = 55 - ((long)num.GetBitLength() - (long)den.GetBitLength());
        var q = BigInteger.DivRem(shift >= 0 ? num << (int)shift : num, shift >= 0 ? den : den << (int)-shift, out var r);
        int extra = (int)q.GetBitLength() - 53;
        var kept = q >> extra;
        var dropped = q - (kept << extra);
        var half = BigInteger.One << (extra - 1);
        int cmp = dropped.CompareTo(half);
        if (cmp > 0 || (cmp == 0 && (!r.IsZero || !kept.IsEven))) kept += 1;
        double result = Math.ScaleB((double)kept, (int)(extra - shift));
        return negative ? -result : result;
    }
}
