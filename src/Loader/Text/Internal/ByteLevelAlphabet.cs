namespace NanoVlm.Loader.Text.Internal;

/// <summary>GPT-2's byte/char table (HF <c>bytes_char</c>): printable Latin-1 bytes map to themselves, the other 68
/// to U+0100 upwards.</summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = Build();

    public static char ByteToChar(byte b) => s_byteToChar[b];

    /// <summary>The byte-level form of <paramref name="text"/> (its UTF-8 bytes through the table), as the vocabulary
    /// stores it.</summary>
    public static string Map(ReadOnlySpan<char> text)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return string.Create(n, bytes[..n].ToArray(), static (span, b) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = s_byteToChar[b[i]];
        });
    }

    private static char[] Build()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            map[b] = (char)(printable ? b : 256 + n++);
        }
        return map;
    }
}
