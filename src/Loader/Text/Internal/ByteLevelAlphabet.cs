namespace NanoVlm.Loader.Text.Internal;

/// <summary>GPT-2's byte/char table (HF <c>bytes_char</c>): printable Latin-1 bytes map to themselves, the other 68
/// to U+0100 upwards.</summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = Build();

    public static char ByteToChar(byte b) => s_byteToChar[b];

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
