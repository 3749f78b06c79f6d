using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>One HF normalizer step (tokenizers' <c>normalizers</c>): a Unicode normalization form, <c>Replace</c> of a
/// literal string, or <c>Prepend</c>.</summary>
internal abstract record NormalizerStep
{
    /// <summary>Writes the normalized <paramref name="text"/> to <paramref name="output"/>[..<paramref name="length"/>]
    /// (grown when too small, else reused) and returns true; returns false when the step leaves the text unchanged.</summary>
    public abstract bool Apply(ReadOnlySpan<char> text, ref char[]? output, out int length);

    private protected static Span<char> Room(ref char[]? output, int length)
    {
        if (output is null || output.Length < length) output = new char[Math.Max(length, 2 * (output?.Length ?? 64))];
        return output.AsSpan(0, length);
    }

    /// <summary><c>NFC</c>/<c>NFD</c>/<c>NFKC</c>/<c>NFKD</c> (NFC built in, the others through .NET).</summary>
    public sealed record Form(NormalizationForm Value) : NormalizerStep
    {
        public override bool Apply(ReadOnlySpan<char> text, ref char[]? output, out int length)
        {
            if (Value == NormalizationForm.FormC) return Nfc.TryNormalize(text, ref output, out length);
            length = 0;
            // Text below U+0300 is stable under every form except the compatibility ones.
            if (!CharClasses.HasU0300OrAbove(text)
                && !(Value is NormalizationForm.FormKC or NormalizationForm.FormKD && CharClasses.HasCompatibilityLatin(text))) return false;
            string s = text.ToString();
            if (s.IsNormalized(Value)) return false;
            string normalized = s.Normalize(Value);
            normalized.CopyTo(Room(ref output, normalized.Length));
            length = normalized.Length;
            return true;
        }
    }

    /// <summary><c>Replace</c> with a <c>String</c> pattern: every occurrence, left to right.</summary>
    public sealed record Replace(string Pattern, string Content) : NormalizerStep
    {
        public override bool Apply(ReadOnlySpan<char> text, ref char[]? output, out int length)
        {
            length = 0;
            if (Pattern.Length == 0) return false;
            int count = 0;
            for (int at = text.IndexOf(Pattern.AsSpan()); at >= 0;)
            {
                count++;
                int next = text[(at + Pattern.Length)..].IndexOf(Pattern.AsSpan());
                at = next < 0 ? -1 : at + Pattern.Length + next;
            }
            if (count == 0) return false;
            var dest = Room(ref output, text.Length + count * (Content.Length - Pattern.Length));
            int w = 0;
            var rest = text;
            for (int i; (i = rest.IndexOf(Pattern.AsSpan())) >= 0; rest = rest[(i + Pattern.Length)..])
            {
                rest[..i].CopyTo(dest[w..]);
                w += i;
                Content.CopyTo(dest[w..]);
                w += Content.Length;
            }
            rest.CopyTo(dest[w..]);
            length = w + rest.Length;
            return true;
        }
    }

    /// <summary><c>Prepend</c>: only to non-empty text (Rust <c>Prepend::normalize</c>).</summary>
    public sealed record Prepend(string Value) : NormalizerStep
    {
        public override bool Apply(ReadOnlySpan<char> text, ref char[]? output, out int length)
        {
            length = 0;
            if (text.IsEmpty || Value.Length == 0) return false;
            var dest = Room(ref output, Value.Length + text.Length);
            Value.CopyTo(dest);
            text.CopyTo(dest[Value.Length..]);
            length = dest.Length;
            return true;
        }
    }
}

/// <summary>A HF normalizer as an ordered list of steps, applied to each piece of text between atomic tokens. The
/// result lives in per-thread buffers that are reused, so steady-state normalization allocates nothing.</summary>
internal sealed class TextNormalizer(IReadOnlyList<NormalizerStep> steps)
{
    [ThreadStatic] private static char[]? t_a;
    [ThreadStatic] private static char[]? t_b;
    private readonly NormalizerStep[] _steps = [.. steps];

    public IReadOnlyList<NormalizerStep> Steps => _steps;

    /// <summary>The normalized text: <paramref name="text"/> itself when no step changes it, else a span of this
    /// thread's buffers, valid until the next call on this thread.</summary>
    public ReadOnlySpan<char> Apply(ReadOnlySpan<char> text)
    {
        // Ping-pong between two buffers: a step reads the previous step's output and writes the other buffer.
        bool inA = false;
        foreach (var step in _steps) // an array: enumerating the interface would allocate an enumerator
        {
            if (inA)
            {
                if (step.Apply(text, ref t_b, out int n)) { text = t_b.AsSpan(0, n); inA = false; }
            }
            else if (step.Apply(text, ref t_a, out int n)) { text = t_a.AsSpan(0, n); inA = true; }
        }
        return text;
    }
}
