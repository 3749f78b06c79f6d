using System.Text;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Random strings made of what trips tokenizers: letters of many scripts, digit runs (ASCII and others),
/// whitespace runs with CR/LF/tabs, punctuation, apostrophe contractions in any case, combining marks (NFC changes),
/// emoji (astral, ZWJ sequences, skin tones, flags), astral letters and digits, and long words. No lone surrogates
/// (Rust strings cannot hold them) and no atomic tokens.</summary>
internal static class RandomText
{
    private static readonly string[] s_pieces =
    [
        " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00A0", "\u3000",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "’s",
        ".", ",", "!", "?", "...", "--", "(", ")", "\"", "#", "$", "%", "&", "*", "/", "\\", "@", "[", "]", "{", "}", "|", "~", "<", ">", "_",
        "café", "naïve", "résumé", "e\u0301", "a\u0308", "\u212B", "A\u030A", "\u1100\u1161\u11A8",
        "東京", "日本語", "中文字符", "ひらがな", "カタカナ", "한국어", "Москва", "Ελλάδα", "العربية", "עברית", "हिन्दी", "ไทย",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "\U0001D400\U0001D401", "\U0001D7CF\U0001D7D0", "\U00020000", "\U0001F600\U0001F601",
        "٣", "३", "²", "½", "Ⅻ",
    ];

    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    public static string Next(Random rng)
    {
        var sb = new StringBuilder();
        int parts = 1 + rng.Next(12);
        for (int i = 0; i < parts; i++)
        {
            switch (rng.Next(6))
            {
                case 0: sb.Append(s_pieces[rng.Next(s_pieces.Length)]); break;
                case 1: // a digit run, up to 12 long
                    for (int k = rng.Next(1, 13); k > 0; k--) sb.Append((char)('0' + rng.Next(10)));
                    break;
                case 2: // a long word
                    for (int k = rng.Next(17, 60); k > 0; k--) sb.Append(Letters[rng.Next(Letters.Length)]);
                    break;
                case 3: // a random BMP scalar value (no surrogates) or astral one
                {
                    int cp = rng.Next(4) == 0 ? rng.Next(0x10000, 0x110000) : rng.Next(0x20, 0xD800);
                    sb.Append(char.ConvertFromUtf32(cp));
                    break;
                }
                default: // a short word, maybe with a leading space
                    if (rng.Next(2) == 0) sb.Append(' ');
                    for (int k = rng.Next(1, 9); k > 0; k--) sb.Append(Letters[rng.Next(Letters.Length)]);
                    break;
            }
        }
        return sb.ToString();
    }
}
