using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Text;

/// <summary>
/// Maps a HF <c>tokenizer.json</c> of the byte-level BPE kind onto Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>: <c>model.vocab</c>, <c>model.merges</c> (<c>"a b"</c> strings or <c>[a, b]</c>
/// arrays), <c>added_tokens</c>, the normalizer (none, NFC/NFD/NFKC/NFKD or a Sequence of those) and the
/// pre-tokenizer (<c>Sequence</c> of <c>Split</c> (Isolated) / <c>Digits</c> / <c>ByteLevel</c>). Anything else is
/// rejected with a <see cref="NotSupportedException"/> that names what was found.
/// </summary>
public static class TokenizerJsonLoader
{
    /// <summary>GPT-2's pre-tokenizer regex (HF ByteLevel with <c>use_regex = true</c>).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    internal static VlmTokenizer Load(Stream stream, VlmTokenizerOptions options, string? configEos)
    {
        using var doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        var root = doc.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new NotSupportedException("tokenizer.json has no 'model' object.");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
            : model.TryGetProperty("merges", out _) ? "BPE" : "(none)";
        if (type != "BPE")
            throw new NotSupportedException($"tokenizer.json model type '{type}' is not supported: only byte-level BPE (GPT-2, SmolLM2, Qwen style) " +
                "is. For WordPiece/Unigram/WordLevel models use a SentencePiece .model (FromSentencePiece) if one exists.");
        if (model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True)
            throw new NotSupportedException("tokenizer.json BPE with 'ignore_merges: true' (Llama-3 style) is not supported.");

        var steps = new List<SplitStep>();
        bool byteLevel = false;
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
            AddPreTokenizer(pre, steps, ref byteLevel);
        if (!byteLevel)
            throw new NotSupportedException("tokenizer.json BPE without a ByteLevel pre-tokenizer (e.g. Metaspace / SentencePiece-converted) " +
                "is not supported; load the original SentencePiece .model with FromSentencePiece instead.");

        NormalizationForm? norm = null;
        if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object)
            norm = ReadNormalizer(n);

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m))
        {
            foreach (var e in m.EnumerateArray())
            {
                if (e.ValueKind == JsonValueKind.String) merges.Add(e.GetString()!);
                else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2)
                {
                    string a = e[0].GetString()!, b = e[1].GetString()!;
                    if (a.Contains(' ') || b.Contains(' '))
                        throw new NotSupportedException($"tokenizer.json merge [\"{a}\", \"{b}\"] contains a space, which Microsoft.ML.Tokenizers' merge format cannot express.");
                    merges.Add(a + " " + b);
                }
                else throw new NotSupportedException($"tokenizer.json merge entry of kind {e.ValueKind} is not supported.");
            }
        }

        var added = new List<KeyValuePair<string, int>>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var e in at.EnumerateArray())
                added.Add(new(e.GetProperty("content").GetString()!, e.GetProperty("id").GetInt32()));

        string? unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        string? prefix = model.TryGetProperty("continuing_subword_prefix", out var c) && c.ValueKind == JsonValueKind.String && c.GetString()!.Length > 0 ? c.GetString() : null;
        string? suffix = model.TryGetProperty("end_of_word_suffix", out var s) && s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0 ? s.GetString() : null;

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer(steps),
            UnknownToken = unk,
            ContinuingSubwordPrefix = prefix,
            EndOfWordSuffix = suffix,
        });
        int baseSize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        return new VlmTokenizer(bpe, baseSize, added, norm, options, configEos, "tokenizer.json (byte-level BPE)");
    }

    internal static VlmTokenizer LoadVocabMerges(Stream vocabStream, Stream mergesStream, VlmTokenizerOptions options, string? configEos)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabStream)
            ?? throw new InvalidDataException("vocab.json is empty.");
        var merges = new List<string>();
        using (var reader = new StreamReader(mergesStream, Encoding.UTF8))
        {
            string? line;
            bool first = true;
            while ((line = reader.ReadLine()) is not null)
            {
                if (first && line.StartsWith("#version", StringComparison.Ordinal)) { first = false; continue; }
                first = false;
                if (line.Length == 0) continue;
                merges.Add(line);
            }
        }
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer([new RegexIsolatedStep(CreateRegex(Gpt2Pattern))]),
        });
        var added = vocab.Where(kv => kv.Key.Length > 4 && kv.Key.StartsWith("<|", StringComparison.Ordinal) && kv.Key.EndsWith("|>", StringComparison.Ordinal)).ToList();
        return new VlmTokenizer(bpe, vocab.Values.Max() + 1, added, null, options, configEos, "vocab.json + merges.txt (byte-level BPE)");
    }

    internal static string? ReadEosFromConfig(string path)
    {
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        if (!doc.RootElement.TryGetProperty("eos_token", out var e)) return null;
        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Object when e.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        };
    }

    private static void AddPreTokenizer(JsonElement pre, List<SplitStep> steps, ref bool byteLevel)
    {
        string type = pre.GetProperty("type").GetString()!;
        switch (type)
        {
            case "Sequence":
                foreach (var p in pre.GetProperty("pretokenizers").EnumerateArray()) AddPreTokenizer(p, steps, ref byteLevel);
                break;
            case "Split":
            {
                string behavior = pre.TryGetProperty("behavior", out var b) ? b.GetString()! : "Isolated";
                bool invert = pre.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                if (behavior != "Isolated" || invert)
                    throw new NotSupportedException($"tokenizer.json Split pre-tokenizer with behavior '{behavior}'{(invert ? " and invert" : "")} is not supported (only Isolated).");
                var pattern = pre.GetProperty("pattern");
                string regex = pattern.TryGetProperty("Regex", out var r) ? r.GetString()!
                    : pattern.TryGetProperty("String", out var str) ? Regex.Escape(str.GetString()!)
                    : throw new NotSupportedException("tokenizer.json Split pattern is neither Regex nor String.");
                steps.Add(new RegexIsolatedStep(CreateRegex(regex)));
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
                if (useRegex) steps.Add(new RegexIsolatedStep(CreateRegex(Gpt2Pattern)));
                byteLevel = true;
                break;
            }
            default:
                throw new NotSupportedException($"tokenizer.json pre-tokenizer '{type}' is not supported (supported: Sequence, Split (Isolated), Digits, ByteLevel).");
        }
    }

    private static NormalizationForm? ReadNormalizer(JsonElement n)
    {
        string type = n.GetProperty("type").GetString()!;
        switch (type)
        {
            case "NFC": return NormalizationForm.FormC;
            case "NFD": return NormalizationForm.FormD;
            case "NFKC": return NormalizationForm.FormKC;
            case "NFKD": return NormalizationForm.FormKD;
            case "Sequence":
            {
                NormalizationForm? form = null;
                foreach (var x in n.GetProperty("normalizers").EnumerateArray())
                {
                    var f = ReadNormalizer(x);
                    if (f is null) continue;
                    if (form is not null) throw new NotSupportedException("tokenizer.json normalizer Sequence with more than one Unicode normalization is not supported.");
                    form = f;
                }
                return form;
            }
            default:
                throw new NotSupportedException($"tokenizer.json normalizer '{type}' is not supported (supported: none, NFC, NFD, NFKC, NFKD).");
        }
    }

    private static Regex CreateRegex(string pattern) => new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
}
