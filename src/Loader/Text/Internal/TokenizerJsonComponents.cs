using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>Reads the pre-tokenizer, normalizer, decoder and post-processor objects of a HF <c>tokenizer.json</c>
/// (the serialized forms of tokenizers' Rust types), refusing what is not built with the component's name.</summary>
internal static class TokenizerJsonComponents
{
    public static void AddPreTokenizer(JsonElement pre, List<SplitStep> steps, ref bool byteLevel)
    {
        string type = TypeOf(pre, "pre_tokenizer");
        switch (type)
        {
            case "Sequence":
                foreach (var p in pre.GetProperty("pretokenizers").EnumerateArray()) AddPreTokenizer(p, steps, ref byteLevel);
                break;
            case "Split":
            {
                string behaviorName = pre.TryGetProperty("behavior", out var b) ? b.GetString()! : "Isolated";
                if (!Enum.TryParse<SplitBehavior>(behaviorName, ignoreCase: false, out var behavior))
                    throw new NotSupportedException($"tokenizer.json Split pre-tokenizer behavior '{behaviorName}' is not supported (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous are).");
                bool invert = pre.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                var pattern = pre.GetProperty("pattern");
                if (pattern.TryGetProperty("Regex", out var r)) steps.Add(new PatternSplitStep(CreateRegex(r.GetString()!), behavior, invert));
                else if (pattern.TryGetProperty("String", out var str)) steps.Add(new PatternSplitStep(str.GetString()!, behavior, invert));
                else throw new NotSupportedException("tokenizer.json Split pattern is neither Regex nor String.");
                break;
            }
            case "Digits":
                steps.Add(new DigitsStep(pre.TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True));
                break;
            case "ByteLevel":
            {
                if (pre.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                    throw new NotSupportedException("tokenizer.json ByteLevel pre-tokenizer with add_prefix_space = true is not supported.");
                bool useRegex = !pre.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                if (useRegex) steps.Add(new PatternSplitStep(CreateRegex(TokenizerJsonLoader.Gpt2Pattern)));
                byteLevel = true;
                break;
            }
            default:
                throw new NotSupportedException($"tokenizer.json pre-tokenizer '{type}' is not supported (supported: Sequence, Split, Digits, ByteLevel).");
        }
    }

    public static void AddNormalizer(JsonElement n, List<NormalizerStep> steps)
    {
        string type = TypeOf(n, "normalizer");
        switch (type)
        {
            case "NFC": steps.Add(new NormalizerStep.Form(NormalizationForm.FormC)); break;
            case "NFD": steps.Add(new NormalizerStep.Form(NormalizationForm.FormD)); break;
            case "NFKC": steps.Add(new NormalizerStep.Form(NormalizationForm.FormKC)); break;
            case "NFKD": steps.Add(new NormalizerStep.Form(NormalizationForm.FormKD)); break;
            case "Sequence":
                foreach (var x in n.GetProperty("normalizers").EnumerateArray()) AddNormalizer(x, steps);
                break;
            case "Replace":
                steps.Add(new NormalizerStep.Replace(StringPattern(n, "normalizer Replace"), n.GetProperty("content").GetString()!));
                break;
            case "Prepend":
                steps.Add(new NormalizerStep.Prepend(n.GetProperty("prepend").GetString()!));
                break;
            default:
                throw new NotSupportedException($"tokenizer.json normalizer '{type}' is not supported (supported: NFC, NFD, NFKC, NFKD, Replace with a String pattern, Prepend, Sequence).");
        }
    }

    /// <summary>The decoder chain; a missing/null decoder is HF's join with spaces.</summary>
    public static TokenDecoder ReadDecoder(JsonElement d)
    {
        if (d.ValueKind != JsonValueKind.Object) return new TokenDecoder(null);
        var steps = new List<DecoderStep>();
        AddDecoder(d, steps);
        return new TokenDecoder(steps);
    }

    private static void AddDecoder(JsonElement d, List<DecoderStep> steps)
    {
        string type = TypeOf(d, "decoder");
        switch (type)
        {
            case "Sequence":
                foreach (var x in d.GetProperty("decoders").EnumerateArray()) AddDecoder(x, steps);
                break;
            case "ByteLevel": steps.Add(new DecoderStep.ByteLevel()); break;
            case "ByteFallback": steps.Add(new DecoderStep.ByteFallback()); break;
            case "Fuse": steps.Add(new DecoderStep.Fuse()); break;
            case "Replace":
                steps.Add(new DecoderStep.Replace(StringPattern(d, "decoder Replace"), d.GetProperty("content").GetString()!));
                break;
            case "Strip":
            {
                string content = d.GetProperty("content").GetString()!;
                if (content.Length != 1) throw new NotSupportedException($"tokenizer.json decoder Strip with content '{content}' (not one char) is not supported.");
                steps.Add(new DecoderStep.Strip(content[0], d.GetProperty("start").GetInt32(), d.GetProperty("stop").GetInt32()));
                break;
            }
            default:
                throw new NotSupportedException($"tokenizer.json decoder '{type}' is not supported (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence).");
        }
    }

    /// <summary>The ids the post-processor adds around one sequence with <c>add_special_tokens</c>.</summary>
    public static PostProcessor ReadPostProcessor(JsonElement p, Dictionary<string, int> vocab, List<KeyValuePair<string, int>> added)
    {
        if (p.ValueKind != JsonValueKind.Object) return PostProcessor.None;
        string type = TypeOf(p, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return PostProcessor.None;
            case "Sequence":
            {
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var x in p.GetProperty("processors").EnumerateArray())
                {
                    var inner = ReadPostProcessor(x, vocab, added);
                    prefix.InsertRange(0, inner.Prefix);
                    suffix.AddRange(inner.Suffix);
                }
                return new PostProcessor([.. prefix], [.. suffix]);
            }
            case "TemplateProcessing":
            {
                var special = new Dictionary<string, int[]>(StringComparer.Ordinal);
                if (p.TryGetProperty("special_tokens", out var st))
                    foreach (var e in st.EnumerateObject())
                        special[e.Name] = e.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var prefix = new List<int>();
                var suffix = new List<int>();
                bool seenSequence = false;
                foreach (var piece in p.GetProperty("single").EnumerateArray())
                {
                    if (piece.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                    string id = piece.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    if (!special.TryGetValue(id, out var ids))
                        throw new InvalidDataException($"tokenizer.json post_processor TemplateProcessing uses special token '{id}' that is not in its special_tokens.");
                    (seenSequence ? suffix : prefix).AddRange(ids);
                }
                return new PostProcessor([.. prefix], [.. suffix]);
            }
            case "RobertaProcessing":
            case "BertProcessing":
                return new PostProcessor([TokenId(p, "cls")], [TokenId(p, "sep")]);
            default:
                throw new NotSupportedException($"tokenizer.json post_processor '{type}' is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence).");
        }

        static int TokenId(JsonElement p, string key) => p.GetProperty(key)[1].GetInt32();
    }

    private static string TypeOf(JsonElement e, string what) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
            : throw new InvalidDataException($"tokenizer.json {what} has no 'type'.");

    private static string StringPattern(JsonElement e, string what)
    {
        var pattern = e.GetProperty("pattern");
        if (pattern.TryGetProperty("String", out var s)) return s.GetString()!;
        throw new NotSupportedException($"tokenizer.json {what} with a Regex pattern is not supported (only String patterns are).");
    }

    internal static ScalarRegex CreateRegex(string pattern)
    {
        try { return new ScalarRegex(pattern); }
        catch (RegexParseException e) { throw new NotSupportedException($"tokenizer.json regex '{pattern}' cannot be compiled by .NET: {e.Message}", e); }
    }
}
