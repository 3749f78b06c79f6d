using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>One HF normalizer step (tokenizers' <c>normalizers</c>): a Unicode normalization form, <c>Replace</c> of a
/// literal string, or <c>Prepend</c>.</summary>
internal abstract record NormalizerStep
{
    public abstract string Apply(string text);

    /// <summary><c>NFC</c>/<c>NFD</c>/<c>NFKC</c>/<c>NFKD</c> (NFC built in, the others through .NET).</summary>
    public sealed record Form(NormalizationForm Value) : NormalizerStep
    {
        public override string Apply(string text) => Value == NormalizationForm.FormC
            ? (Nfc.TryNormalize(text, out string nfc) ? nfc : text)
            : text.IsNormalized(Value) ? text : text.Normalize(Value);
    }

    /// <summary><c>Replace</c> with a <c>String</c> pattern: every occurrence, left to right.</summary>
    public sealed record Replace(string Pattern, string Content) : NormalizerStep
    {
        public override string Apply(string text) => text.Replace(Pattern, Content, StringComparison.Ordinal);
    }

    /// <summary><c>Prepend</c>: only to non-empty text (Rust <c>Prepend::normalize</c>).</summary>
    public sealed record Prepend(string Value) : NormalizerStep
    {
        public override string Apply(string text) => text.Length == 0 ? text : Value + text;
    }
}

/// <summary>A HF normalizer as an ordered list of steps, applied to each piece of text between atomic tokens.</summary>
internal sealed class TextNormalizer(IReadOnlyList<NormalizerStep> steps)
{
    public IReadOnlyList<NormalizerStep> Steps { get; } = steps;

    public string Apply(ReadOnlySpan<char> text)
    {
        string s = text.ToString();
        foreach (var step in Steps) s = step.Apply(s);
        return s;
    }
}
