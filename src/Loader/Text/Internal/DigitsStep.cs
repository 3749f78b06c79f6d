using System.Buffers;
using System.Globalization;
using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>HF <c>Digits</c>: numeric characters (Rust <c>char::is_numeric</c>: Nd, Nl, No, on scalar values, so
/// astral digits such as U+1D7CF count once) are isolated, one by one or as runs.</summary>
internal sealed class DigitsStep(bool individualDigits) : SplitStep
{
    public override void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
    {
        int end = offset + length;
        int runStart = offset;
        int i = offset;
        while (i < end)
        {
            int w = NumericWidth(text, i, end);
            if (w > 0)
            {
                if (i > runStart) output.Add((runStart, i - runStart));
                int j = i + w;
                if (!individualDigits)
                {
                    while (j < end && NumericWidth(text, j, end) is int wj and > 0) j += wj;
                }
                output.Add((i, j - i));
                i = j;
                runStart = j;
            }
            else
            {
                i += char.IsHighSurrogate(text[i]) && i + 1 < end && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            }
        }
        if (end > runStart) output.Add((runStart, end - runStart));
    }

    /// <summary>UTF-16 width of the numeric scalar at <paramref name="i"/>, or 0 when it is not numeric.</summary>
    private static int NumericWidth(ReadOnlySpan<char> text, int i, int end)
    {
        char c = text[i];
        if (!char.IsSurrogate(c)) return IsNumeric(char.GetUnicodeCategory(c)) ? 1 : 0;
        if (Rune.DecodeFromUtf16(text[i..end], out var r, out int used) != OperationStatus.Done) return 0;
        return IsNumeric(Rune.GetUnicodeCategory(r)) ? used : 0;
    }

    private static bool IsNumeric(UnicodeCategory c) => c is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}
