using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A HF decoder chain (tokenizers' <c>decoders</c>): each step rewrites the list of token strings in place, as Rust's
/// <c>decode_chain</c> does; the result is their concatenation. Without a decoder HF joins the tokens with spaces.
/// </summary>
internal abstract record DecoderStep
{
    public abstract void Apply(List<string> tokens);

    /// <summary><c>ByteLevel</c>: every token's chars back to bytes through GPT-2's byte/char table (a token with a
    /// char outside the table, e.g. an added token, contributes its own UTF-8), then one lossy UTF-8 decode of all of
    /// them (invalid sequences become U+FFFD per maximal subpart, as Rust's <c>from_utf8_lossy</c>).</summary>
    public sealed record ByteLevel : DecoderStep
    {
        private static readonly Dictionary<char, byte> s_charToByte = BuildCharToByte();

        public override void Apply(List<string> tokens)
        {
            var bytes = new List<byte>();
            Span<byte> utf8 = stackalloc byte[4];
            foreach (var t in tokens)
            {
                bool all = true;
                foreach (char c in t) if (!s_charToByte.ContainsKey(c)) { all = false; break; }
                if (all) foreach (char c in t) bytes.Add(s_charToByte[c]);
                else bytes.AddRange(Encoding.UTF8.GetBytes(t));
            }
            tokens.Clear();
            tokens.Add(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
        }

        private static Dictionary<char, byte> BuildCharToByte()
        {
            var map = new Dictionary<char, byte>();
            for (int b = 0; b < 256; b++) map[ByteLevelAlphabet.ByteToChar((byte)b)] = (byte)b;
            return map;
        }
    }

    /// <summary><c>Replace</c> with a <c>String</c> pattern, per token.</summary>
    public sealed record Replace(string Pattern, string Content) : DecoderStep
    {
        public override void Apply(List<string> tokens)
        {
            for (int i = 0; i < tokens.Count; i++) tokens[i] = tokens[i].Replace(Pattern, Content, StringComparison.Ordinal);
        }
    }

    /// <summary><c>ByteFallback</c>: runs of <c>&lt;0xXX&gt;</c> tokens become their UTF-8 text, or one U+FFFD per byte
    /// when the run is not valid UTF-8 (Rust <c>ByteFallback::decode_chain</c>).</summary>
    public sealed record ByteFallback : DecoderStep
    {
        public override void Apply(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            var pending = new List<byte>();
            foreach (var t in tokens)
            {
                if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                    && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                {
                    pending.Add(b);
                    continue;
                }
                Flush(pending, result);
                result.Add(t);
            }
            Flush(pending, result);
            tokens.Clear();
            tokens.AddRange(result);
        }

        private static readonly UTF8Encoding s_strict = new(false, throwOnInvalidBytes: true);

        private static void Flush(List<byte> pending, List<string> result)
        {
            if (pending.Count == 0) return;
            try { result.Add(s_strict.GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD"); }
            pending.Clear();
        }
    }

    /// <summary><c>Fuse</c>: all tokens into one.</summary>
    public sealed record Fuse : DecoderStep
    {
        public override void Apply(List<string> tokens)
        {
            string all = string.Concat(tokens);
            tokens.Clear();
            tokens.Add(all);
        }
    }

    /// <summary><c>Strip</c>: up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> chars off each token.</summary>
    public sealed record Strip(char Content, int Start, int Stop) : DecoderStep
    {
        public override void Apply(List<string> tokens)
        {
            for (int i = 0; i < tokens.Count; i++)
            {
                string t = tokens[i];
                int s = 0, e = t.Length;
                while (s < Start && s < e && t[s] == Content) s++;
                int k = 0;
                while (k < Stop && e > s && t[e - 1] == Content) { e--; k++; }
                tokens[i] = t[s..e];
            }
        }
    }
}

/// <summary>A HF decoder: its steps in order, or none (tokens joined with spaces, as HF does).</summary>
internal sealed class TokenDecoder(IReadOnlyList<DecoderStep>? steps)
{
    public string Decode(List<string> tokens)
    {
        if (steps is null) return string.Join(' ', tokens);
        foreach (var step in steps) step.Apply(tokens);
        return string.Concat(tokens);
    }
}
