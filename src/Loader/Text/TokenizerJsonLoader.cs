using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Text;

/// <summary>
/// Maps a HF <c>tokenizer.json</c> with a BPE model onto an encoder with HF tokenizers' results, all run by this
/// library: <see cref="BpeModel"/> (byte-level: GPT-2, SmolLM2, Qwen, Llama-3, DeepSeek-V3, GPT-4o, with
/// <c>ignore_merges</c>; SentencePiece-style with byte fallback: Llama-2, Gemma), the pre-tokenizer (Split with every
/// behaviour and <c>invert</c>, Digits, ByteLevel; regexes on Unicode scalar values) and normalizers
/// (NFC/NFD/NFKC/NFKD, Replace, Prepend, Sequence); decoders (ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence)
/// and post-processors (TemplateProcessing, ByteLevel, Roberta/Bert, Sequence) are read; anything else is rejected
/// with a <see cref="NotSupportedException"/> that names the component.
/// </summary>
internal static class TokenizerJsonLoader
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
            throw new NotSupportedException($"tokenizer.json model type '{type}' is not supported: only BPE (byte-level or SentencePiece-style " +
                "with byte fallback) is. For WordPiece/Unigram/WordLevel models use a SentencePiece .model (FromSentencePiece) if one exists.");
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        bool fuseUnk = model.TryGetProperty("fuse_unk", out var fu) && fu.ValueKind == JsonValueKind.True;
        if (model.TryGetProperty("dropout", out var dr) && dr.ValueKind == JsonValueKind.Number && dr.GetDouble() > 0)
            throw new NotSupportedException("tokenizer.json BPE 'dropout' is not supported (it makes encoding random).");

        var steps = new List<SplitStep>();
        bool byteLevel = false;
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
            TokenizerJsonComponents.AddPreTokenizer(pre, steps, ref byteLevel);

        var normSteps = new List<NormalizerStep>();
        if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object)
            TokenizerJsonComponents.AddNormalizer(n, normSteps);
        // A single Unicode form is also reported as VlmTokenizer.Normalization.
        NormalizationForm? form = normSteps is [NormalizerStep.Form only] ? only.Value : null;
        var normalizer = normSteps.Count == 0 ? null : new TextNormalizer(normSteps);

        var decoder = TokenizerJsonComponents.ReadDecoder(root.TryGetProperty("decoder", out var d) ? d : default);

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var mergePairs = ReadMerges(model);

        var added = new List<KeyValuePair<string, int>>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var e in at.EnumerateArray())
                added.Add(new(e.GetProperty("content").GetString()!, e.GetProperty("id").GetInt32()));
        var post = TokenizerJsonComponents.ReadPostProcessor(root.TryGetProperty("post_processor", out var pp) ? pp : default, vocab, added);

        string? unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        string? prefix = model.TryGetProperty("continuing_subword_prefix", out var c) && c.ValueKind == JsonValueKind.String && c.GetString()!.Length > 0 ? c.GetString() : null;
        string? suffix = model.TryGetProperty("end_of_word_suffix", out var s) && s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0 ? s.GetString() : null;
        int baseSize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        var splitter = new SplitPreTokenizer(steps);

        if (byteLevel && byteFallback)
            throw new NotSupportedException("tokenizer.json BPE with both a ByteLevel pre-tokenizer and byte_fallback is not supported.");
        if (prefix is not null || suffix is not null)
            throw new NotSupportedException($"tokenizer.json BPE with {(prefix is not null ? "continuing_subword_prefix" : "end_of_word_suffix")} " +
                $"'{prefix ?? suffix}' is not supported (no byte-level or SentencePiece-style family this loader reads uses one).");
        var own = new BpeModel(vocab, mergePairs, unk, fuseUnk, byteFallback, ignoreMerges, byteLevel);
        var parts = new TokenizerModelParts(null, own, steps.Count == 0 ? null : splitter, normalizer, decoder, post);
        string kind = byteLevel
            ? $"tokenizer.json (byte-level BPE{(ignoreMerges ? ", ignore_merges" : "")})"
            : $"tokenizer.json (SentencePiece-style BPE{(byteFallback ? ", byte fallback" : "")})";
        return new VlmTokenizer(parts, baseSize, added, form, options, configEos, kind);
    }

    /// <summary><c>model.merges</c> as pairs: <c>"a b"</c> strings or <c>[a, b]</c> arrays.</summary>
    private static List<(string A, string B)> ReadMerges(JsonElement model)
    {
        var merges = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var m)) return merges;
        int i = 0;
        foreach (var e in m.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String)
            {
                string line = e.GetString()!;
                int sp = line.IndexOf(' ', StringComparison.Ordinal);
                if (sp <= 0 || sp != line.LastIndexOf(' '))
                    throw new InvalidDataException($"tokenizer.json model.merges[{i}] \"{line}\" is not two tokens separated by one space.");
                merges.Add((line[..sp], line[(sp + 1)..]));
            }
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2)
                merges.Add((e[0].GetString()!, e[1].GetString()!));
            else throw new NotSupportedException($"tokenizer.json model.merges[{i}] of kind {e.ValueKind} is not supported.");
            i++;
        }
        return merges;
    }

    internal static VlmTokenizer LoadVocabMerges(Stream vocabStream, Stream mergesStream, VlmTokenizerOptions options, string? configEos)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabStream)
            ?? throw new InvalidDataException("vocab.json is empty.");
        var merges = new List<(string, string)>();
        using (var reader = new StreamReader(mergesStream, Encoding.UTF8))
        {
            string? line;
            int lineNumber = 0;
            while ((line = reader.ReadLine()) is not null)
            {
                lineNumber++;
                if (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) continue;
                if (line.Length == 0) continue;
                int sp = line.IndexOf(' ', StringComparison.Ordinal);
                if (sp <= 0 || sp != line.LastIndexOf(' '))
                    throw new InvalidDataException($"merges.txt line {lineNumber} \"{line}\" is not two tokens separated by one space.");
                merges.Add((line[..sp], line[(sp + 1)..]));
            }
        }
        var own = new BpeModel(vocab, merges, null, fuseUnk: false, byteFallback: false, ignoreMerges: false, byteLevel: true, source: "vocab.json + merges.txt");
        var added = vocab.Where(kv => kv.Key.Length > 4 && kv.Key.StartsWith("<|", StringComparison.Ordinal) && kv.Key.EndsWith("|>", StringComparison.Ordinal)).ToList();
        var parts = new TokenizerModelParts(null, own, new SplitPreTokenizer([new PatternSplitStep(new ScalarRegex(Gpt2Pattern))]),
            Decoder: new TokenDecoder([new DecoderStep.ByteLevel()]));
        return new VlmTokenizer(parts, vocab.Values.Max() + 1, added, null, options, configEos, "vocab.json + merges.txt (byte-level BPE)");
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
}
