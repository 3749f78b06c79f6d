using System.Buffers;
using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// Unicode NFC without ICU (the repo runs with InvariantGlobalization, where <see cref="string.Normalize()"/> does
/// nothing): full canonical decomposition, canonical ordering, canonical composition (UAX #15), Hangul
/// algorithmic. Tables: <see cref="NfcTables"/> (generated from Python's unicodedata).
/// </summary>
internal static class Nfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, int> s_ccc = Pairs(NfcTables.Ccc);
    private static readonly Dictionary<int, (int Offset, int Length)> s_decomp = Triples(NfcTables.Decompositions);
    private static readonly Dictionary<long, int> s_comp = Compositions(NfcTables.Compositions);

    /// <summary>Returns true with the NFC form in <paramref name="buffer"/>[..<paramref name="length"/>] when
    /// <paramref name="text"/> is not already NFC; the buffer is grown (replaced) when too small, else reused, so a
    /// caller that keeps it allocates nothing in steady state.</summary>
    public static bool TryNormalize(ReadOnlySpan<char> text, ref char[]? buffer, out int length)
    {
        length = 0;
        // Every code point below U+0300 is NFC-stable and never combines with what precedes it.
        if (!CharClasses.HasU0300OrAbove(text)) return false;
        int[] rented = ArrayPool<int>.Shared.Rent(text.Length * 4 + 4);
        try
        {
            int n = Decompose(text, rented);
            var cps = rented.AsSpan(0, n);
            Reorder(cps);
            n = Compose(cps);
            int chars = 0;
            for (int i = 0; i < n; i++) chars += cps[i] >= 0x10000 ? 2 : 1;
            if (buffer is null || buffer.Length < chars) buffer = new char[Math.Max(chars, 2 * (buffer?.Length ?? 64))];
            int w = 0;
            for (int i = 0; i < n; i++)
            {
                int cp = cps[i];
                if (cp < 0x10000) buffer[w++] = (char)cp; // a lone surrogate stays as it was
                else
                {
                    buffer[w++] = (char)(0xD7C0 + (cp >> 10));
                    buffer[w++] = (char)(0xDC00 + (cp & 0x3FF));
                }
            }
            if (text.SequenceEqual(buffer.AsSpan(0, w))) return false;
            length = w;
            return true;
        }
        finally { ArrayPool<int>.Shared.Return(rented); }
    }

    /// <summary>NFC of a string (returns the input when already NFC).</summary>
    public static string Normalize(string text)
    {
        char[]? buffer = null;
        return TryNormalize(text, ref buffer, out int length) ? new string(buffer!, 0, length) : text;
    }

    private static int Decompose(ReadOnlySpan<char> text, int[] output)
    {
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);
            if (cp >= SBase && cp < SBase + SCount)
            {
                int s = cp - SBase;
                output[n++] = LBase + s / NCount;
                output[n++] = VBase + s % NCount / TCount;
                if (s % TCount != 0) output[n++] = TBase + s % TCount;
            }
            else if (s_decomp.TryGetValue(cp, out var d))
            {
                NfcTables.DecompositionData.AsSpan(d.Offset, d.Length).CopyTo(output.AsSpan(n));
                n += d.Length;
            }
            else output[n++] = cp;
        }
        return n;
    }

    private static int Ccc(int cp) => cp < 0x300 ? 0 : s_ccc.GetValueOrDefault(cp);

    private static void Reorder(Span<int> cps)
    {
        // Stable insertion sort of each run of non-starters by combining class.
        for (int i = 1; i < cps.Length; i++)
        {
            int c = Ccc(cps[i]);
            if (c == 0) continue;
            int cp = cps[i];
            int j = i - 1;
            while (j >= 0 && Ccc(cps[j]) > c)
            {
                cps[j + 1] = cps[j];
                j--;
            }
            cps[j + 1] = cp;
        }
    }

    private static int Compose(Span<int> cps)
    {
        if (cps.Length == 0) return 0;
        int starterPos = 0;
        int starter = cps[0];
        int lastClass = Ccc(starter);
        if (lastClass != 0) lastClass = 256; // no starter yet: block composition with it
        int write = 1;
        for (int read = 1; read < cps.Length; read++)
        {
            int ch = cps[read];
            int chClass = Ccc(ch);
            int composite = ComposePair(starter, ch);
            if (composite >= 0 && (lastClass < chClass || lastClass == 0))
            {
                cps[starterPos] = composite;
                starter = composite;
                continue;
            }
            if (chClass == 0)
            {
                starterPos = write;
                starter = ch;
            }
            lastClass = chClass;
            cps[write++] = ch;
        }
        return write;
    }

    private static int ComposePair(int a, int b)
    {
        int l = a - LBase;
        if (l >= 0 && l < LCount)
        {
            int v = b - VBase;
            return v >= 0 && v < VCount ? SBase + (l * VCount + v) * TCount : -1;
        }
        int s = a - SBase;
        if (s >= 0 && s < SCount && s % TCount == 0)
        {
            int t = b - TBase;
            return t > 0 && t < TCount ? a + t : -1;
        }
        return s_comp.TryGetValue(((long)a << 21) | (uint)b, out int c) ? c : -1;
    }

    private static Dictionary<int, int> Pairs(int[] data)
    {
        var d = new Dictionary<int, int>(data.Length / 2);
        for (int i = 0; i < data.Length; i += 2) d[data[i]] = data[i + 1];
        return d;
    }

    private static Dictionary<int, (int, int)> Triples(int[] data)
    {
        var d = new Dictionary<int, (int, int)>(data.Length / 3);
        for (int i = 0; i < data.Length; i += 3) d[data[i]] = (data[i + 1], data[i + 2]);
        return d;
    }

    private static Dictionary<long, int> Compositions(int[] data)
    {
        var d = new Dictionary<long, int>(data.Length / 3);
        for (int i = 0; i < data.Length; i += 3) d[((long)data[i] << 21) | (uint)data[i + 1]] = data[i + 2];
        return d;
    }
}
