using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>
/// The byte-level encoder this library used before it had its own: Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>
/// with the file's vocabulary and merges, this library's pre-tokenizer (Microsoft.ML's own has no Split behaviours nor
/// scalar-value regexes), NFC applied first when the file asks for it, and <c>ignore_merges</c> as a look-up of the whole
/// byte-level piece before the BPE. An independent BPE implementation to compare <see cref="BpeModel"/> with on text
/// the Rust fixtures do not cover.
/// </summary>
internal sealed class ByteLevelReference
{
    private readonly BpeTokenizer _bpe;
    private readonly SplitPreTokenizer _pre;
    private readonly Dictionary<string, int>? _ignoreMergesVocab;
    private readonly bool _nfc;

    public ByteLevelReference(JsonNode tokenizerJson)
    {
        using var doc = JsonDocument.Parse(tokenizerJson.ToJsonString());
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e[0].GetString() + " " + e[1].GetString()).ToList();
        var steps = new List<SplitStep>();
        bool byteLevel = false;
        TokenizerJsonComponents.AddPreTokenizer(root.GetProperty("pre_tokenizer"), steps, ref byteLevel);
        Assert.True(byteLevel);
        _pre = new SplitPreTokenizer(steps);
        _bpe = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, ByteLevel = true, PreTokenizer = new Adapter(_pre) });
        if (model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True) _ignoreMergesVocab = vocab;
        var normalizer = root.TryGetProperty("normalizer", out var n) ? n : default;
        _nfc = normalizer.ValueKind == JsonValueKind.Object && normalizer.GetProperty("type").GetString() == "NFC";
        Assert.True(_nfc || normalizer.ValueKind != JsonValueKind.Object || normalizer.GetProperty("type").GetString() == "Sequence"
            && normalizer.GetProperty("normalizers").GetArrayLength() == 0, "the reference applies no normalizer but NFC");
    }

    /// <summary>Ids of text that holds no atomic token.</summary>
    public int[] Encode(string text)
    {
        if (_nfc) text = Nfc.Normalize(text);
        if (_ignoreMergesVocab is null) return [.. _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)];
        var ids = new List<int>();
        foreach (var (o, l) in _pre.Split(text).ToArray())
        {
            string piece = text.Substring(o, l);
            if (_ignoreMergesVocab.TryGetValue(ByteLevel(piece), out int id)) ids.Add(id);
            else ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
        return [.. ids];
    }

    private static string ByteLevel(string piece)
    {
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(piece)) sb.Append(ByteLevelAlphabet.ByteToChar(b));
        return sb.ToString();
    }

    /// <summary>This library's pre-tokenizer as a Microsoft.ML.Tokenizers <see cref="PreTokenizer"/>.</summary>
    private sealed class Adapter(SplitPreTokenizer inner) : PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
            => text is null ? [] : inner.Split(text).ToArray();

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => inner.Split(text).ToArray();
    }
}
