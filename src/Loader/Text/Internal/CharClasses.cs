using System.Buffers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>The UTF-16 ranges the encode path scans for, as <see cref="SearchValues{T}"/> (vectorized; the generic
/// <c>IndexOfAnyInRange</c>/<c>ContainsAnyInRange</c> allocated 96 bytes a call here).</summary>
internal static class CharClasses
{
    private static readonly SearchValues<char> s_surrogates = Range('\uD800', '\uDFFF');
    private static readonly SearchValues<char> s_fromU0300 = Range('\u0300', '\uFFFF');
    private static readonly SearchValues<char> s_compatibilityLatin = Range('\u00A0', '\u02FF');

    /// <summary>Index of the first surrogate code unit, or -1.</summary>
    public static int IndexOfSurrogate(ReadOnlySpan<char> text) => text.IndexOfAny(s_surrogates);

    /// <summary>Whether any char is U+0300 or above (below it every code point is NFC/NFD-stable and never combines
    /// with what precedes it).</summary>
    public static bool HasU0300OrAbove(ReadOnlySpan<char> text) => text.IndexOfAny(s_fromU0300) >= 0;

    /// <summary>Whether any char is in U+00A0..U+02FF (the range below U+0300 that NFKC/NFKD change).</summary>
    public static bool HasCompatibilityLatin(ReadOnlySpan<char> text) => text.IndexOfAny(s_compatibilityLatin) >= 0;

    private static SearchValues<char> Range(char first, char last)
    {
        var chars = new char[last - first + 1];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)(first + i);
        return SearchValues.Create(chars);
    }
}
